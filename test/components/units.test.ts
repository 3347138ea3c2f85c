/** Component-level behaviour outside the full cluster: errors, the prebuilt image path, scripts. */
import { recordTransformation, settle, promiseOf, type Recorded } from "./support";
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { SparkNode } from "../../src/components/spark-node";
import { RoceLink } from "../../src/components/roce-link";
import { VllmImage, checkSameImageId } from "../../src/components/vllm-image";
import { VllmService } from "../../src/components/vllm-service";
import { sizeToMiB } from "../../src/components/common";
import { planFromInput } from "../../src/plan/cluster";
import { umaMonitorStep } from "../../src/plan/monitor";
import {
  dropCachesSidecar,
  imagePresenceStep,
  imageTransferScript,
  preflightChecks,
  prefetchStep,
  readinessScript,
  reachableScript,
  imageIdScript,
} from "../../src/plan/service";
import { baseConfig } from "../support/fixtures";

test("checkSameImageId fails naming every node and its ID when they differ", () => {
  assert.equal(checkSameImageId("t", { a: "sha256:1\n", b: "sha256:1" }), "sha256:1");
  assert.throws(
    () => checkSameImageId("t", { "spark-head": "sha256:1", "spark-worker": "sha256:2" }),
    /spark-head=sha256:1, spark-worker=sha256:2/,
  );
  assert.throws(() => checkSameImageId("t", { a: "", b: "" }), /a=missing/);
});

test("component errors name the component and the node", () => {
  const plan = planFromInput(baseConfig(), "deploy");
  assert.throws(() => SparkNode.fromPlan(plan, { node: "nope" }), /node 'nope' is not in the plan/);
  assert.throws(
    () => SparkNode.fromPlan(plan, { node: "spark-head" }),
    /spark-head authenticates with a key but no privateKey/,
  );
  assert.throws(
    () => RoceLink.fromPlan(plan, { nodes: [] }),
    /node spark-head, spark-worker of the plan has no SparkNode/,
  );
});

test("sizes convert to MiB for docker", () => {
  assert.equal(sizeToMiB("64g"), 65536);
  assert.equal(sizeToMiB("512m"), 512);
  assert.throws(() => sizeToMiB("lots"));
});

test("prebuilt image: pulled on every node (delete puts back what the tag named, or removes it if it was absent), no build, no transfer; the service needs its secrets", async () => {
  const input = baseConfig();
  input.image = { source: "prebuilt", ref: "ghcr.io/example/vllm-gb10:0.24.0" };
  input.hardening = { dropCachesDuringLoad: false };
  input.model.prefetch = false;
  const plan = planFromInput(input, "deploy");
  const opts = { transformations: [recordTransformation] };
  const nodes = plan.nodes.map(
    (n) =>
      new SparkNode(
        `p-${n.name}`,
        SparkNode.fromPlan(plan, { node: n.name, privateKey: pulumi.secret("k"), umaMonitor: false }),
        opts,
      ),
  );
  const image = new VllmImage("p-image", VllmImage.fromPlan(plan, { nodes }), opts);
  assert.throws(() => VllmService.fromPlan(plan, { nodes, image }), /requires an API key/);
  const svc = new VllmService(
    "p-service",
    VllmService.fromPlan(plan, { nodes, image, apiKey: pulumi.secret("a"), hfToken: pulumi.secret("h") }),
    opts,
  );
  const all = await settle();
  const names = [...all.keys()].filter((n) => n.startsWith("p-"));
  assert.ok(!names.some((n) => /build|transfer|prefetch|drop-caches|uma-monitor/.test(n)), names.join(", "));
  for (const n of plan.nodes) {
    const pull = all.get(`p-image-${n.name}-image-pull`) as Recorded;
    assert.equal(pull.inputs.create, imagePresenceStep(plan, n).create);
    assert.match(pull.inputs.create, /docker pull ghcr.io\/example\/vllm-gb10:0.24.0/);
    // what the tag named before comes back (the scripts run for real in test/host/image-undo.test.ts)
    assert.match(pull.inputs.delete, /\.absent" \]; then\n\s+if \[ -n "\$cur" \]; then docker image rm/);
    assert.match(pull.inputs.delete, /docker tag "\$prev" ghcr\.io\/example\/vllm-gb10:0\.24\.0/);
    assert.equal((all.get(`p-service-${n.name}`) as Recorded).inputs.image, "ghcr.io/example/vllm-gb10:0.24.0");
  }
  assert.equal(await promiseOf(svc.maxModelLen), 1000000);
});

test("every rendered script is valid bash", () => {
  const plan = planFromInput(baseConfig(), "deploy");
  const head = plan.nodes[0]!;
  const worker = plan.nodes[1]!;
  const scripts: [string, string][] = [];
  for (const n of plan.nodes) {
    scripts.push(["reachable", reachableScript(n)], ["image-id", imageIdScript(plan, n)]);
    for (const c of preflightChecks(plan, n)) scripts.push([`preflight ${c.id}`, c.script]);
    for (const s of [
      ...n.hostSteps,
      ...n.linkSteps,
      umaMonitorStep(n.name, 12),
      prefetchStep(plan, n),
      imagePresenceStep(plan, n),
    ])
      scripts.push([`${s.id} create`, s.create], [`${s.id} delete`, s.delete]);
    const sc = dropCachesSidecar(plan, n);
    scripts.push(["drop-caches start", sc.start], ["drop-caches stop", sc.stop]);
  }
  scripts.push(["transfer", imageTransferScript(plan, head, worker)], ["readiness", readinessScript(plan, head)]);
  for (const [what, s] of scripts) {
    const r = spawnSync("bash", ["-n"], { input: s, encoding: "utf8" });
    assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  }
});

test("the readiness gate passes only when /v1/models reports the profile's max_model_len, and its failure names node, timeout and last error", async () => {
  const http = await import("node:http");
  let len = 524288;
  let auth = "";
  const server = http.createServer((req, res) => {
    auth = String(req.headers.authorization ?? "");
    if (req.url === "/health") {
      res.writeHead(200);
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        object: "list",
        data: [
          {
            id: "deepseek-v4",
            object: "model",
            owned_by: "vllm",
            root: "deepseek-ai/DeepSeek-V4-Flash",
            parent: null,
            max_model_len: len,
            permission: [{ id: "p" }],
          },
        ],
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  const input = baseConfig();
  input.serving.port = port;
  const plan = planFromInput(input, "deploy");
  // The journal prologue needs root or passwordless sudo; run the gate with a scratch journal instead.
  // Node access is a no-op here: the sidecar cleanup on failure must not reach out to the fixture's
  // addresses (the lifecycle rehearsal exercises it against real containers).
  const noAccess = Object.fromEntries(plan.nodes.map((n) => [n.name, ["sh", "-c", ":"]]));
  const gate = readinessScript(plan, plan.nodes[0]!, 2, 1, noAccess)
    .replace(/^J=.*$/m, `J=$(mktemp -d)`)
    .replace(/^\$SUDO mkdir.*$/m, ":");
  const run = () =>
    new Promise<{ status: number | null; out: string; err: string }>((resolve) => {
      const { spawn } = require("node:child_process") as typeof import("node:child_process");
      const p = spawn("bash", ["-c", gate], { stdio: ["pipe", "pipe", "pipe"] });
      let out = "",
        err = "";
      p.stdout.on("data", (d: Buffer) => (out += d));
      p.stderr.on("data", (d: Buffer) => (err += d));
      p.on("close", (status) => resolve({ status, out, err }));
      p.stdin.end("the-api-key\n");
    });
  try {
    const bad = await run();
    assert.equal(bad.status, 1);
    assert.match(
      bad.err,
      /node spark-head: readiness: not ready after 2 s; last error: \/v1\/models reports max_model_len='524288' for deepseek-v4, expected 1000000/,
    );
    len = 1000000;
    const good = await run();
    assert.equal(good.status, 0, good.err);
    assert.match(good.out, /ready: deepseek-v4 max_model_len=1000000/);
    assert.equal(auth, "Bearer the-api-key");
    assert.ok(!gate.includes("the-api-key"));
  } finally {
    server.close();
  }
});

test("a SparkNode alone loads no docker provider; its docker ssh options carry the pinned key, nothing recorded", async () => {
  const input = baseConfig();
  const pin = ["ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIDockerProviderPinTest0000000000000000000"].join(" ");
  (input.nodes[1] as { ssh: Record<string, unknown> }).ssh.hostKey = pin;
  const plan = planFromInput(input, "deploy");
  const opts = { transformations: [recordTransformation] };
  const sparks = plan.nodes.map((n) => {
    const extra = n.role === "worker" ? { dockerSshOpts: ["-i", "/home/me/.ssh/id_ed25519"] } : {};
    return new SparkNode(
      `k-${n.name}`,
      SparkNode.fromPlan(plan, { node: n.name, privateKey: pulumi.secret("k"), ...extra }),
      opts,
    );
  });
  const all = await settle();
  // Hardening a host needs only the command provider: no docker plugin is loaded.
  assert.deepEqual(
    [...all.values()]
      .filter((r) => r.name.startsWith("k-") && r.type.startsWith("pulumi:providers:"))
      .map((r) => r.name),
    [],
  );
  const [head, worker] = sparks.map((s) => [...s.dockerSshOpts]) as [string[], string[]];
  // No pin: any key is taken and nothing is written to the user's known_hosts (as every other connection).
  assert.deepEqual(head.slice(0, 2), ["-o", "BatchMode=yes"]);
  assert.ok(head.includes("StrictHostKeyChecking=no") && head.includes("UserKnownHostsFile=/dev/null"), head.join(" "));
  assert.ok(!head.some((o) => o.includes("accept-new")), "accept-new would write known_hosts");
  // The pinned worker: checked against the pin itself, not the user's known_hosts; the user's options first.
  assert.deepEqual(worker.slice(0, 2), ["-i", "/home/me/.ssh/id_ed25519"]);
  assert.ok(worker.includes(`KnownHostsCommand=/bin/echo %H ${pin}`), worker.join(" "));
  assert.ok(worker.includes("StrictHostKeyChecking=yes") && worker.includes("UserKnownHostsFile=/dev/null"));
});
