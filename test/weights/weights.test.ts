/**
 * model.delivery in the config, the plan, the components (under mocks) and doctor: what a user
 * would notice without hosts. The transfers themselves are rehearsed in test/rehearsal/weights.test.ts.
 */
import "../components/support";
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { DeepSeekV4Cluster } from "../../src/components/cluster";
import { ConfigError } from "../../src/config/errors";
import { loadClusterConfig } from "../../src/config/load";
import { evaluate, type NodeResult } from "../../src/doctor/evaluate";
import { parseProbe, probeScript } from "../../src/doctor/probe";
import { planFromInput } from "../../src/plan/cluster";
import { preflightChecks } from "../../src/plan/service";
import type { ClusterPlan, NodePlan } from "../../src/plan/types";
import { weightsDir, weightsStep } from "../../src/plan/weights";
import { recordTransformation, settle, unwrap } from "../components/support";
import { baseConfig, twinConfig } from "../support/fixtures";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const ROOT = path.resolve(__dirname, "..", "..", "..");

function withModel(model: Record<string, unknown>, twins = false): Record<string, any> {
  const c = twins ? twinConfig() : baseConfig();
  c.model = { ...c.model, ...model };
  return c;
}
const node = (plan: ClusterPlan, name: string) => plan.nodes.find((n) => n.name === name) as NodePlan;

test("config: a branch name as model.revision warns; a commit hash does not", () => {
  const branch = loadClusterConfig(withModel({ revision: "main" }), "plan").warnings;
  assert.ok(
    branch.some((w) => w.path === "model.revision" && /not a commit hash/.test(w.message)),
    JSON.stringify(branch),
  );
  const pinned = loadClusterConfig(withModel({ revision: SHA }), "plan").warnings;
  assert.ok(!pinned.some((w) => w.path === "model.revision"));
});

test("config: delivery local needs localPath, and localPath needs delivery local, each with the path named", () => {
  for (const [model, message] of [
    [{ delivery: "local" }, /model\.localPath.*is required with model\.delivery: local/],
    [{ localPath: "/mnt/m" }, /model\.localPath.*only used with model\.delivery: local \(it is not set\)/],
    [{ delivery: "copy" }, /model\.delivery/],
    [{ delivery: "local", localPath: "relative/path" }, /model\.localPath/],
  ] as const) {
    assert.throws(
      () => loadClusterConfig(withModel(model), "plan"),
      (e: unknown) => e instanceof ConfigError && message.test(e.message),
      JSON.stringify(model),
    );
  }
  // No token is needed when nothing is downloaded.
  const c = withModel({ delivery: "local", localPath: "/mnt/m", hfToken: undefined });
  delete c.model.hfToken;
  assert.ok(!loadClusterConfig(c, "plan").warnings.some((w) => w.path === "model.hfToken"));
});

test("plan: local serves the folder offline (HF_HUB_OFFLINE=1, mounted, no hub revision) and needs no disk for weights", () => {
  const plan = planFromInput(withModel({ delivery: "local", localPath: "/mnt/models/dsv4", revision: SHA }), "plan");
  for (const n of plan.nodes) {
    assert.equal(n.container.env.HF_HUB_OFFLINE, "1");
    assert.equal(n.serveArgv[2], "/mnt/models/dsv4");
    assert.ok(!n.serveArgv.includes("--revision"));
    assert.ok(
      n.container.volumes.some((v) => v.hostPath === "/mnt/models/dsv4" && v.containerPath === "/mnt/models/dsv4"),
    );
    const disk = preflightChecks(plan, n).find((c) => c.id === "disk")?.script ?? "";
    assert.match(disk, /weights=0;/);
    const step = weightsStep(plan, n);
    assert.equal(step.id, "weights-local");
    assert.equal(step.needsToken, false);
  }
});

test("plan: delivery defaults to head-then-copy for two nodes", () => {
  assert.equal(planFromInput(baseConfig(), "plan").model.delivery, "head-then-copy");
  assert.equal(planFromInput(withModel({ delivery: "each" }), "plan").model.delivery, "each");
});

test("plan: a pinned revision reaches vllm serve; each downloads on every node with the token", () => {
  const plan = planFromInput(withModel({ revision: SHA, delivery: "each" }), "plan");
  for (const n of plan.nodes) {
    const i = n.serveArgv.indexOf("--revision");
    assert.equal(n.serveArgv[i + 1], SHA);
    assert.equal(n.container.env.HF_HUB_OFFLINE, undefined);
    const step = weightsStep(plan, n);
    assert.deepEqual([step.id, step.runsOn, step.needsToken], ["prefetch", n.name, true]);
    assert.match(step.create, new RegExp(`REVISION=${SHA}`));
  }
  const unpinned = planFromInput(baseConfig(), "plan");
  assert.ok(!unpinned.nodes[0]?.serveArgv.includes("--revision"));
});

test("plan: head-then-copy copies from the head to every twin address of the worker, the worker's own download as fallback", () => {
  const plan = planFromInput(withModel({ delivery: "head-then-copy", revision: SHA }, true), "plan");
  const head = weightsStep(plan, node(plan, "spark-head"));
  const copy = weightsStep(plan, node(plan, "spark-worker"));
  assert.deepEqual([head.id, head.runsOn, head.needsToken], ["prefetch", "spark-head", true]);
  assert.deepEqual(
    [copy.id, copy.runsOn, copy.waitsFor, copy.needsToken],
    ["weights-copy", "spark-head", "spark-head", true],
  );
  assert.match(copy.create, /^ADDRS=10\.0\.0\.2,10\.0\.1\.2$/m);
  assert.match(copy.create, new RegExp(`^TARGET_DIR=${weightsDir(plan, node(plan, "spark-worker"))}$`, "m"));
  assert.match(copy.create, /StrictHostKeyChecking|BatchMode=yes/);
  // The fallback is the worker's own download script, as delivery each renders it, run on the worker.
  const each = planFromInput(withModel({ delivery: "each", revision: SHA }, true), "plan");
  const own = weightsStep(each, node(each, "spark-worker")).create;
  const b64 = /^FALLBACK_B64=(\S+)$/m.exec(copy.create)?.[1] ?? "";
  assert.equal(Buffer.from(b64, "base64").toString(), own, "FALLBACK_B64 is the worker's fetch script");
  assert.match(copy.create, /^TARGET_HOST=/m);
  // The rendered scripts are valid bash.
  for (const s of [head.create, copy.create]) execFileSync("bash", ["-n"], { input: s });
});

test("components: the worker's copy runs over the head's connection after the head's download, the token on stdin for the fallback", async () => {
  const c = withModel({ delivery: "head-then-copy", revision: SHA, hfToken: "hf_unit_token_zz" });
  c.serving = { ...(c.serving ?? {}), apiKey: "sk-unit-8c3e1a9f5b7d2046e1c3a5b7" };
  c.ssh.privateKey = "unit-key";
  const { config, warnings } = loadClusterConfig(c, "deploy");
  new DeepSeekV4Cluster("wt", { config, warnings }, { transformations: [recordTransformation] });
  const all = await settle();
  const copy = all.get("wt-service-spark-worker-weights-copy");
  const fetch = all.get("wt-service-spark-head-prefetch");
  assert.ok(copy && fetch, [...all.keys()].filter((k) => k.startsWith("wt-service")).join(", "));
  const inputs = unwrap(copy.inputs);
  assert.equal(inputs.connection.host, config.nodes.find((n) => n.role === "head")?.ssh.host);
  assert.ok(copy.dependsOn.includes("wt-service-spark-head-prefetch"), copy.dependsOn.join(", "));
  assert.equal(inputs.stdin, "hf_unit_token_zz");
  assert.ok(!inputs.create.includes("hf_unit_token_zz"));
  assert.equal(inputs.logging, "stderr");
  assert.equal(unwrap(fetch.inputs).logging, "stderr");
  assert.ok(!all.has("wt-service-spark-worker-prefetch"));
  // The worker's container waits for its copy.
  const worker = [...all.values()].find((r) => r.name === "wt-service-spark-worker" && r.type.startsWith("docker:"));
  assert.ok(worker);
  const deps = new Set<string>();
  const walk = (n: string) => {
    for (const d of all.get(n)?.dependsOn ?? []) {
      if (!deps.has(d)) {
        deps.add(d);
        walk(d);
      }
    }
  };
  walk(worker.name);
  assert.ok(deps.has("wt-service-spark-worker-weights-copy"));
});

test("doctor: per node the revision present, files verified and bytes, from the weights' own record", () => {
  const plan = planFromInput(withModel({ revision: SHA }), "plan");
  // The probe line runs here against a real record.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dsv-wstatus-"));
  try {
    fs.mkdirSync(path.join(dir, "dgx-spark-vllm"));
    fs.mkdirSync(path.join(dir, "snapshots", SHA), { recursive: true });
    fs.writeFileSync(path.join(dir, "snapshots", SHA, "a.safetensors"), "x".repeat(1000));
    fs.writeFileSync(
      path.join(dir, "dgx-spark-vllm", `manifest-${SHA}.json`),
      JSON.stringify({
        revision: SHA,
        files: [
          { path: "a.safetensors", size: 1000 },
          { path: "b.safetensors", size: 500 },
        ],
      }),
    );
    const status = path.join(ROOT, "src", "host", "weights-status.py");
    const line = execFileSync("python3", [status, dir, SHA], { encoding: "utf8" }).trim();
    assert.equal(line, `revision ${SHA}: 1/2 files present with the right size, 0.00 GB of 0.00 GB; not verified`);
    const check = (value: string) => {
      const results = new Map<string, NodeResult>(
        plan.nodes.map((n) => [n.name, { ok: true, values: parseProbe(`@weights ${value}\n@probe.complete\n`) }]),
      );
      return evaluate(plan, results).filter((x) => x.id === "weights");
    };
    const partial = check(line);
    assert.equal(partial.length, 2);
    assert.ok(partial.every((c) => c.status === "WARN" && /pulumi up/.test(c.fix ?? "")));
    const good = check(
      `revision ${SHA}: 2/2 files present with the right size, 149.00 GB of 149.00 GB; last full verification passed`,
    );
    assert.ok(good.every((c) => c.status === "PASS" && /149\.00 GB/.test(c.evidence)));
    const other = check(
      `revision ${"f".repeat(40)}: 2/2 files present with the right size, 1.00 GB of 1.00 GB; last full verification passed`,
    );
    assert.ok(other.every((c) => c.status === "WARN" && /config pins/.test(c.fix ?? "")));
    assert.ok(check("revision none: no verified weights on this node").every((c) => c.status === "WARN"));
    // The probe stays read-only: it carries the reader, not the downloader.
    const probe = probeScript(plan, node(plan, "spark-head"));
    assert.match(probe, /kv weights/);
    assert.doesNotMatch(probe, /hf_hub_download|subprocess/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
