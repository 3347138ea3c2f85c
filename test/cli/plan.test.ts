import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { loadClusterConfig, readStackFile } from "../../src/config";
import { runCli } from "../../src/cli/main";

const ROOT = resolve(__dirname, "..", "..", "..");
const STACKS = ["1m", "512k", "256k"] as const;
const TMP = mkdtempSync(join(tmpdir(), "dsv-cli-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

function cli(args: string[]) {
  let out = "",
    err = "";
  const code = runCli(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe("the example stacks", () => {
  for (const s of STACKS) {
    it(`stacks/Pulumi.${s}.yaml parses and plans without secrets`, () => {
      const input = readStackFile(join(ROOT, "stacks", `Pulumi.${s}.yaml`));
      const { config } = loadClusterConfig(input, "plan");
      assert.equal(config.serving.profile, s);
      assert.deepEqual(
        config.nodes.map((n) => [n.name, n.role, n.dataPlane[0]!.address, n.dataPlane[0]!.prefix]),
        [
          ["spark-head", "head", "10.0.0.1", 30],
          ["spark-worker", "worker", "10.0.0.2", 30],
        ],
      );
    });
  }

  it("differ only in the profile", () => {
    const [a, ...rest] = STACKS.map((s) => {
      const input = readStackFile(join(ROOT, "stacks", `Pulumi.${s}.yaml`)) as Record<string, any>;
      delete input.serving.profile;
      return input;
    });
    for (const r of rest) assert.deepEqual(r, a);
  });

  it("an encrypted secret is shown as [secret], never needed", () => {
    const dir = TMP;
    const file = join(dir, "Pulumi.enc.yaml");
    writeFileSync(
      file,
      `config:\n  dgx-spark-vllm:apiKey:\n    secure: v1:AAAABBBBCCCCDDDD\n  dgx-spark-vllm:ssh:\n    user: spark\n  dgx-spark-vllm:nodes:\n    - {name: a, role: head, ssh: {host: a.local}, dataPlane: [{netdev: enp1s0f1np1, hca: rocep1s0f1, address: 10.0.0.1}]}\n    - {name: b, role: worker, ssh: {host: b.local}, dataPlane: [{netdev: enp1s0f1np1, hca: rocep1s0f1, address: 10.0.0.2}]}\n`,
    );
    const r = cli(["plan", "--config", file, "--json"]);
    assert.equal(r.code, 0, r.err);
    const plan = JSON.parse(r.out);
    assert.equal(plan.secrets["serving.apiKey"], "[secret] (encrypted in stack file)");
    assert.equal(plan.secrets["model.hfToken"], "not set");
    assert.doesNotMatch(r.out, /AAAABBBB/);
  });
});

describe("the shipped defaults do not warn", () => {
  for (const s of STACKS) {
    it(`plan --stack ${s}: only the unset secrets warn; the default alert threshold is under the predicted free memory`, () => {
      const r = cli(["plan", "--stack", s, "--json"]);
      assert.equal(r.code, 0, r.err);
      const plan = JSON.parse(r.out);
      const secrets = ["model.hfToken", "nodes[0].ssh.privateKey", "nodes[1].ssh.privateKey", "serving.apiKey"];
      assert.deepEqual(plan.warnings.map((w: { path: string }) => w.path).sort(), secrets);
      assert.ok(plan.notes.some((n: { path: string }) => n.path === "image.flashinferRef"));
      const GIB = 1024 ** 3;
      // GB in the name, GiB on the node (the monitor compares MemAvailable in KiB): the larger must fit.
      for (const n of plan.memory.nodes)
        assert.ok(plan.hardening.umaAlertThresholdGb * GIB <= n.headroomGiB * GIB - GIB, `${s} ${n.node}`);
      assert.ok(plan.hardening.umaAlertThresholdGb * 1e9 > 3 * GIB, "the alert comes before the 3 GiB OOM warning");
    });
  }
});

describe("plan command", () => {
  for (const s of STACKS) {
    it(`plan --stack ${s} --json emits the documented shape`, () => {
      const r = cli(["plan", "--stack", s, "--json"]);
      assert.equal(r.code, 0, r.err);
      const plan = JSON.parse(r.out);
      assert.equal(plan.schemaVersion, 1);
      assert.equal(plan.profile.name, s);
      assert.equal(plan.nodes.length, 2);
      for (const n of plan.nodes) {
        assert.equal(typeof n.name, "string");
        assert.ok(n.role === "head" || n.role === "worker");
        assert.equal(typeof n.env, "object");
        assert.ok(Array.isArray(n.serveArgv) && n.serveArgv.every((a: unknown) => typeof a === "string"));
        assert.equal(typeof n.container.image, "string");
        assert.deepEqual(n.container.command, n.serveArgv);
      }
      for (const k of ["cluster", "profile", "model", "link", "image", "hardening", "secrets", "warnings"])
        assert.ok(k in plan, k);
    });
  }

  it("prints a readable summary with the serve command for every node", () => {
    const r = cli(["plan", "--stack", "256k"]);
    assert.equal(r.code, 0);
    assert.match(
      r.out,
      /Profile {4}256k: max-model-len 262144, max-num-seqs 24, max-num-batched-tokens 6144, long-context env off/,
    );
    assert.match(r.out, /Node spark-worker \(worker, rank 1\)/);
    assert.match(r.out, /Node spark-head \(head, rank 0\)/);
    assert.equal(
      (r.out.match(/vllm serve deepseek-ai\/DeepSeek-V4-Flash/g) ?? []).length,
      4,
      "serve line and docker run line per node",
    );
    assert.ok(r.out.indexOf("Node spark-worker") < r.out.indexOf("Node spark-head"), "nodes in start order");
  });

  it("invalid config: exit code 2 and the error list", () => {
    const dir = TMP;
    const file = join(dir, "bad.json");
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [{ name: "x", role: "head", ssh: { host: "h" }, dataPlane: [] }],
        serving: { launcher: "slurm" },
      }),
    );
    const r = cli(["plan", "--config", file]);
    assert.equal(r.code, 2);
    assert.match(r.err, /nothing was created or changed/);
    assert.match(r.err, /- nodes: needs at least two nodes/);
    assert.match(r.err, /- nodes\[0\]\.dataPlane: needs at least one data-plane port/);
    assert.match(r.err, /- serving\.launcher: must be 'mp' or 'ray'/);
  });

  it("unknown stack and unknown option exit 2", () => {
    assert.equal(cli(["plan", "--stack", "2m"]).code, 2);
    assert.equal(cli(["plan", "--stak", "1m"]).code, 2);
  });

  it("the installed binary runs and exits 2 on bad input", () => {
    const bin = join(ROOT, "dist", "src", "cli", "main.js");
    const ok = spawnSync(process.execPath, [bin, "plan", "--stack", "512k", "--json"], { encoding: "utf8" });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).profile.maxModelLen, 524288);
    const bad = spawnSync(process.execPath, [bin, "plan", "--stack", "nope"], { encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--stack: no stack file for 'nope'/);
  });
});

describe("plan summary: the watchdog line", () => {
  it("shows the restart order, cap and memory floor, and says when the watchdog is off", () => {
    let r = cli(["plan", "--stack", "1m"]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^Watchdog {3}dgx-spark-vllm-watchdog on the head: probe every 30 s, restart spark-worker -> spark-head after 3 failed probes, at most 3\/hour, >= 300 s apart; starts only with MemAvailable >= spark-head \d+(\.\d+)? GiB, spark-worker/m,
    );
    const file = join(TMP, "no-watchdog.yaml");
    const input = readStackFile(join(ROOT, "stacks", "Pulumi.1m.yaml")) as Record<string, any>;
    input.serving.watchdog = { enabled: false };
    writeFileSync(file, JSON.stringify(input));
    r = cli(["plan", "--config", file]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Watchdog {3}off \(serving\.watchdog\.enabled: false\)$/m);
  });
});
