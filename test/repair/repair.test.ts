/**
 * repair's pure parts and its command line: the check -> step table against the plan's own
 * steps, the create scripts being the very strings the components hand to the command provider,
 * bad input, --dry-run running nothing, and the serving guard (over a stand-in `ssh`).
 */
import "../components/support";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { runRepairCli } from "../../src/cli/repair";
import type { Check } from "../../src/doctor/evaluate";
import { planFromInput } from "../../src/plan/cluster";
import type { ClusterPlan } from "../../src/plan/types";
import { planRepair, REPAIR_TABLE } from "../../src/repair/table";
import { captureSteps } from "../rehearsal/runner";
import { baseConfig } from "../support/fixtures";

const HEAD = "spark-head";
const WORKER = "spark-worker";
const fail = (node: string, id: string, evidence = "drifted"): Check => ({
  id,
  node,
  status: "FAIL",
  title: id,
  evidence,
  fix: `doctor's fix for ${id}`,
});
const ids = (plan: ReturnType<typeof planRepair>, node: string) =>
  plan.nodes.find((n) => n.node === node)?.steps.map((s) => `${s.list === "hostSteps" ? "host" : "link"}:${s.step.id}`);

test("every rule of the table names steps the plan has, in the list it says", () => {
  // With every optional step on (link.disableIpv6 adds ipv6-off).
  const c = baseConfig();
  c.link = { disableIpv6: true };
  const plan = planFromInput(c, "plan");
  for (const node of plan.nodes)
    for (const rule of REPAIR_TABLE)
      for (const id of rule.steps)
        assert.ok(
          node[rule.list].some((s) => s.id === id),
          `${rule.check}: ${rule.list} of ${node.name} has ${id}`,
        );
});

test("the four drifts map to the plan's steps, with their prerequisites, host steps first", () => {
  const plan = planFromInput(baseConfig(), "plan");
  const checks = [
    fail(WORKER, "mtu.0", "mtu 1500"),
    fail(WORKER, "gid.0", "no RoCEv2 GID entry for 10.0.0.2"),
    fail(WORKER, "swap", "active swap: /swapfile"),
    fail(WORKER, "min-free-kbytes", "vm.min_free_kbytes = 67584"),
    fail(HEAD, "persist", "dgx-spark-vllm-link.service disabled"),
    fail(HEAD, "df-ping.0.spark-worker", "no answer"),
    { ...fail(HEAD, "swap"), status: "PASS" as const },
  ];
  const rp = planRepair(plan, checks);
  assert.deepEqual(ids(rp, WORKER), ["host:min-free-kbytes", "host:swap-off", "link:link-address", "link:gid-check"]);
  // persist needs the netplan file (link-address) and the unit (link-boot, after gid-check).
  assert.deepEqual(ids(rp, HEAD), ["link:link-address", "link:gid-check", "link:link-boot"]);
  const worker = rp.nodes.find((n) => n.node === WORKER)!;
  assert.deepEqual(
    worker.steps.map((s) => s.checks),
    [["min-free-kbytes"], ["swap"], ["mtu.0"], ["mtu.0", "gid.0"]],
  );
  assert.deepEqual(
    rp.followers.map((c) => c.id),
    ["df-ping.0.spark-worker"],
  );
  assert.deepEqual(rp.notRepairable, []);
  // The steps are the plan's own objects, not copies.
  const wp = plan.nodes.find((n) => n.name === WORKER)!;
  assert.equal(worker.steps[2]!.step, wp.linkSteps[0]);
  assert.equal(
    worker.steps[1]!.step,
    wp.hostSteps.find((s) => s.id === "swap-off"),
  );
});

test("what no step repairs is left to doctor's fix: GPU, docker, image, a moved pinned GID, a foreign address", () => {
  const plan = planFromInput(baseConfig(), "plan");
  const checks = [
    fail(WORKER, "identity"),
    fail(WORKER, "docker"),
    fail("cluster", "image"),
    fail(WORKER, "gid.0", "GID index 3 holds 'x' (RoCE v2); the RoCEv2 GID of 10.0.0.2 is at index 5"),
    fail(WORKER, "address.0", "10.0.0.2 also on eth9"),
    fail(HEAD, "address.0", "a default route goes through the data plane: 'default via 10.0.0.2'"),
    fail(HEAD, "df-ping.0.spark-worker", "no answer"),
  ];
  const rp = planRepair(plan, checks);
  assert.deepEqual(rp.nodes, []);
  assert.deepEqual(
    rp.notRepairable.map((c) => `${c.node}:${c.id}`),
    checks.map((c) => `${c.node}:${c.id}`),
  );
  // Without hardening.swapOff the plan has no swap-off step: swap is not repairable.
  const keepSwap = planFromInput({ ...baseConfig(), hardening: { swapOff: false } }, "plan");
  const r2 = planRepair(keepSwap, [fail(WORKER, "swap")]);
  assert.deepEqual(r2.nodes, []);
  assert.equal(r2.notRepairable.length, 1);
});

test("a check the probe could not answer is no verdict: repair runs nothing for it and leaves it to doctor's fix", () => {
  const plan = planFromInput(baseConfig(), "plan");
  const hung = {
    ...fail(WORKER, "mtu.0", "not answering: ip did not answer within 5 s"),
    unanswered: "not answering" as const,
  };
  const cut = {
    ...fail(WORKER, "swap", "not checked: the probe ended before this step"),
    unanswered: "not checked" as const,
  };
  const rp = planRepair(plan, [hung, cut, fail(HEAD, "min-free-kbytes", "vm.min_free_kbytes = 67584")]);
  assert.ok(!rp.nodes.some((n) => n.node === WORKER), "no step is run on the worker for an unanswered check");
  assert.deepEqual(ids(rp, HEAD), ["host:min-free-kbytes"], "a real verdict on the other node is still repaired");
  assert.deepEqual(
    rp.notRepairable.map((c) => c.id),
    ["mtu.0", "swap"],
  );
});

test("--node limits the repair to that node; the other node's failures are neither run nor listed", () => {
  const plan = planFromInput(baseConfig(), "plan");
  const rp = planRepair(plan, [fail(HEAD, "mtu.0"), fail(WORKER, "swap"), fail(HEAD, "identity")], [WORKER]);
  assert.deepEqual(
    rp.nodes.map((n) => n.node),
    [WORKER],
  );
  assert.deepEqual(rp.notRepairable, []);
});

test("the scripts repair runs are the very strings SparkNode and RoceLink hand to the command provider", async () => {
  const plan = planFromInput(baseConfig(), "plan");
  const captured = await captureSteps(plan, "rep", "-----FAKE KEY FOR TESTS-----");
  const checks = plan.nodes.flatMap((n) =>
    ["mtu.0", "persist", "swap", "min-free-kbytes"].map((id) => fail(n.name, id)),
  );
  const rp = planRepair(plan, checks);
  let n = 0;
  for (const nr of rp.nodes)
    for (const s of nr.steps) {
      const c = captured.find((x) => x.node === nr.node && x.step === s.step.id);
      assert.ok(c, `a component command for ${nr.node} ${s.step.id}`);
      assert.equal(s.step.create, c.create, `${nr.node} ${s.step.id}`);
      assert.equal(c.stdin, undefined, "the step takes no stdin (repair sends none)");
      n++;
    }
  assert.equal(n, 2 * 5);
});

/** A stand-in `ssh`: logs each remote command; answers doctor's probe and the engine-state read. */
function fakeSsh(
  dir: string,
  opts: { engine?: string; mtu?: number; dockerDown?: boolean } = {},
): { argv: string[]; log: string } {
  // One file per call: the nodes are probed in parallel, and two appends to one file can interleave.
  const log = path.join(dir, "ssh-calls");
  fs.mkdirSync(log, { recursive: true });
  const bin = path.join(dir, "ssh");
  fs.writeFileSync(
    bin,
    [
      "#!/bin/bash",
      'cmd="${!#}"',
      `printf '%s' "$cmd" > ${JSON.stringify(log)}/"$(date +%s%N).$$"`,
      'case "$cmd" in',
      opts.dockerDown
        ? `  *"@docker 0"*) echo '@docker 1' ;;`
        : `  *"@docker 0"*) printf '%s\\n@docker 0\\n' ${JSON.stringify(opts.engine ?? "")} ;;`,
      // The probe's answer, ending with its completion marker (every step answered).
      `  *"kv host"*) printf '@host sim\\n@p0.exists yes\\n@p0.mtu ${opts.mtu ?? 1500}\\n@swaps /swapfile\\n@probe.complete\\n' ;;`,
      "  *) : ;;",
      "esac",
    ].join("\n"),
    { mode: 0o755 },
  );
  return { argv: [bin], log };
}

async function cli(args: string[], ssh: { sshCommand?: string[] } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runRepairCli(args, { out: (s) => out.push(s), err: (s) => err.push(s) }, {}, ssh);
  return { code, out: out.join(""), err: err.join("") };
}

function configFile(dir: string): { file: string; plan: ClusterPlan } {
  const file = path.join(dir, "cluster.json");
  fs.writeFileSync(file, JSON.stringify(baseConfig()), { mode: 0o600 });
  return { file, plan: planFromInput(baseConfig(), "plan") };
}

const callTime = (file: string) => BigInt(file.slice(0, file.indexOf(".")));
/** The remote commands, in call order, but for doctor's probe and the engine-state read. */
const runs = (log: string) =>
  fs
    .readdirSync(log)
    .sort((a, b) => (callTime(a) < callTime(b) ? -1 : 1))
    .map((f) => fs.readFileSync(path.join(log, f), "utf8"))
    .filter((c) => !c.includes("kv host") && !c.includes("@docker 0"));

test("repair CLI: bad input exits 2 with the reason; --help exits 0", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "repair-cli-"));
  try {
    const { file } = configFile(dir);
    let r = await cli(["--stack", "no-such-stack"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--stack: no stack file for 'no-such-stack'/);
    r = await cli(["--bogus"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /usage: dgx-spark-vllm repair/);
    r = await cli(["--config", file, "--node", "spark-nowhere"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--node spark-nowhere: not a node of .* \(nodes: spark-head, spark-worker\)/);
    r = await cli(["--config", file, "--identity", "/nonexistent/key"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--identity: cannot read/);
    r = await cli(["--config", file, "--stack", "1m"]);
    assert.equal(r.code, 2);
    r = await cli(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /--dry-run .*run nothing/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("repair CLI --dry-run: lists the steps per node and runs none of them", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "repair-cli-"));
  try {
    const { file } = configFile(dir);
    const ssh = fakeSsh(dir);
    const r = await cli(["--config", file, "--dry-run"], { sshCommand: ssh.argv });
    assert.match(r.out, /dry run, nothing is changed/);
    assert.match(r.out, /node spark-worker \(no engine container\)\n(.*\n)*? {2}FAIL {2}mtu\.0: mtu 1500\n/);
    assert.match(r.out, /host step swap-off \(for swap\)/);
    assert.match(r.out, /link step link-address \(for address\.0, mtu\.0, persist\)/);
    assert.match(r.out, /not repairable here/);
    assert.deepEqual(runs(ssh.log), [], "nothing but doctor's probe and the engine read went over ssh");
    assert.equal(r.code, 1, "something is left (the stand-in's probe fails checks no step repairs)");
    const j = await cli(["--config", file, "--dry-run", "--json", "--node", "spark-worker"], { sshCommand: ssh.argv });
    const report = JSON.parse(j.out);
    assert.equal(report.dryRun, true);
    assert.deepEqual(
      report.nodes.map((n: { node: string; outcome: string }) => `${n.node} ${n.outcome}`),
      ["spark-worker planned"],
    );
    assert.ok(report.nodes[0].steps.every((s: { result: string }) => s.result === "not run"));
    assert.deepEqual(runs(ssh.log), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("repair CLI: runs the plan's scripts; a serving node is refused (exit 2) unless --force-serving", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "repair-cli-"));
  try {
    const { file, plan } = configFile(dir);
    let ssh = fakeSsh(dir);
    let r = await cli(["--config", file, "--node", "spark-worker"], { sshCommand: ssh.argv });
    const worker = plan.nodes.find((n) => n.name === WORKER)!;
    // The stand-in's probe drifts min_free_kbytes, swap, MTU and the netplan file/unit (absent).
    const expected = [...worker.hostSteps.filter((s) => s.id !== "caches"), ...worker.linkSteps].map((s) => s.create);
    assert.deepEqual(
      runs(ssh.log),
      expected,
      "min-free-kbytes, swap-off, link-address, gid-check, link-boot: verbatim, in order",
    );
    assert.match(r.out, /doctor after the repair/);
    fs.rmSync(ssh.log, { recursive: true });
    ssh = fakeSsh(dir, { engine: "running" });
    r = await cli(["--config", file, "--node", "spark-worker"], { sshCommand: ssh.argv });
    assert.equal(r.code, 2);
    assert.match(r.out, /refused: .* is running on spark-worker: re-applying the link under a live NCCL job hangs it/);
    assert.deepEqual(runs(ssh.log), [], "nothing run on a serving node");
    r = await cli(["--config", file, "--node", "spark-worker", "--force-serving"], { sshCommand: ssh.argv });
    assert.notEqual(r.code, 2);
    assert.deepEqual(runs(ssh.log), expected);
    // docker not answering is no proof the engine is down: refused as well unless forced.
    fs.rmSync(ssh.log, { recursive: true });
    ssh = fakeSsh(dir, { dockerDown: true });
    r = await cli(["--config", file, "--node", "spark-worker"], { sshCommand: ssh.argv });
    assert.equal(r.code, 2);
    assert.match(r.out, /refused: .* is in an unknown state \(docker did not answer\) on spark-worker/);
    assert.deepEqual(runs(ssh.log), [], "nothing run while the engine's state is unknown");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
