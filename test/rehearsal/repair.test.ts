/**
 * `repair` against the simulated Sparks, after a real bring-up by the components' own commands:
 * four drifts an unchanged `pulumi up` would not touch (MTU, a missing RoCEv2 GID, swap on,
 * vm.min_free_kbytes lowered) make doctor FAIL; `repair --dry-run` lists the steps and changes
 * nothing; a node whose engine container is up is refused; `repair` re-runs the plan's steps and
 * the next doctor run is all PASS.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { runRepairCli } from "../../src/cli/repair";
import { runDoctor, type DoctorReport } from "../../src/doctor/run";
import { modelCacheDir } from "../../src/plan/service";
import type { ClusterPlan } from "../../src/plan/types";
import { renderRepairReport, type RepairReport } from "../../src/repair/run";
import { HEAD, hostSpecs, rehearsalConfig, rehearsalPlan, seedVerifiedWeights, WORKER } from "./cluster";
import { labUnavailable, SimLab } from "./lab";
import { captureSteps, destroy, type RemoteStep, describe as why, up } from "./runner";

const unavailable = labUnavailable();
const skip = unavailable && process.env.CI !== "true" ? `simulated hosts: ${unavailable}` : false;
const NETDEV = "enp1s0f1np1";
const IMAGE_ID = `sha256:${"ab12".repeat(16)}`;

describe("repair on simulated Sparks", { skip }, () => {
  let lab: SimLab;
  let plan: ClusterPlan;
  let dir: string;
  let file: string;
  let ssh: { sshCommand: string[]; extraOptions: string[] };
  let steps: RemoteStep[];
  let created: string[];
  const baseline: Record<string, string> = {};

  const doctor = (): Promise<DoctorReport> =>
    runDoctor(plan, "rehearsal", { ...ssh, privateKeys: { [HEAD]: lab.clientKey, [WORKER]: lab.clientKey } });
  const failures = (r: DoctorReport) =>
    r.checks.filter((c) => c.status !== "PASS").map((c) => `${c.status} ${c.node}:${c.id}: ${c.evidence}`);
  const snapshots = () => [HEAD, WORKER].map((h) => lab.snapshot(h));
  async function repair(...args: string[]): Promise<{ code: number; report: RepairReport; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runRepairCli(
      ["--config", file, "--json", ...args],
      { out: (s) => out.push(s), err: (s) => err.push(s) },
      {},
      ssh,
    );
    return { code, report: JSON.parse(out.join("")) as RepairReport, err: err.join("") };
  }

  before(async () => {
    lab = await SimLab.start(hostSpecs());
    const config = rehearsalConfig(lab);
    plan = rehearsalPlan(config);
    for (const h of [HEAD, WORKER]) baseline[h] = lab.snapshot(h);
    steps = await captureSteps(plan, "rep", lab.clientKey);
    const out = await up(lab, steps);
    assert.equal(out.failed, undefined, why(out.failed));
    created = out.ran;
    // What a finished deploy leaves: the same image and the same weights on both nodes.
    const tagFile = plan.image.tag.replace(/[/:]/g, "_");
    for (const h of [HEAD, WORKER]) lab.must(h, `echo ${IMAGE_ID} > /var/lib/dsv-sim/docker/images/${tagFile}`);
    seedVerifiedWeights(lab, plan);
    ssh = { sshCommand: ["ip", "netns", "exec", lab.labNs, "ssh"], extraOptions: ["-F", "/dev/null"] };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "repair-rehearsal-"));
    file = path.join(dir, "cluster.json");
    fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  });
  after(() => {
    lab?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a healthy cluster: nothing to do (exit 0), nothing run", async () => {
    assert.deepEqual(failures(await doctor()), []);
    const before = snapshots();
    const { code, report } = await repair();
    assert.equal(code, 0);
    assert.deepEqual(report.before, []);
    assert.deepEqual(report.nodes, []);
    assert.deepEqual(snapshots(), before);
  });

  it("five drifts: dry run changes nothing, a serving node is refused, repair -> doctor all PASS", async (t) => {
    const worker = plan.nodes.find((n) => n.name === WORKER)!;
    // The drifts: the worker's MTU back to 1500 and its swap on; the head's RoCEv2 GID missing
    // (the post-reboot quirk) and its vm.min_free_kbytes lowered by hand.
    lab.must(WORKER, `ip link set dev ${NETDEV} mtu 1500`);
    lab.must(WORKER, "swapon /swapfile");
    // And a fifth: the worker's boot unit disabled (persist).
    lab.must(WORKER, "systemctl disable dgx-spark-vllm-link.service");
    lab.must(HEAD, "echo 10.0.0.1 > /var/lib/dsv-sim/gid-suppressed; sleep 0.8");
    // Not the boot value (67584), so the destroy below shows the journal kept the value of the first run.
    lab.must(HEAD, "sysctl -q -w vm.min_free_kbytes=65536");
    try {
      const drifted = await doctor();
      const failing = drifted.checks.filter((c) => c.status === "FAIL").map((c) => `${c.node}:${c.id}`);
      const drifts = [
        `${WORKER}:mtu.0`,
        `${WORKER}:swap`,
        `${WORKER}:persist`,
        `${HEAD}:gid.0`,
        `${HEAD}:min-free-kbytes`,
      ];
      for (const want of drifts) assert.ok(failing.includes(want), `${want} FAILs (failing: ${failing.join(", ")})`);
      assert.equal(drifted.exitCode, 2);
      for (const id of ["mtu.0", "swap", "min-free-kbytes", "persist"]) {
        const c = drifted.checks.find((x) => x.id === id && x.status === "FAIL");
        assert.match(c?.fix ?? "", /dgx-spark-vllm repair --stack/, `${id}'s fix points to repair`);
      }

      // --dry-run: the steps per node, and not one change on either host.
      const snap = snapshots();
      const dry = await repair("--dry-run");
      assert.deepEqual(snapshots(), snap, "--dry-run changed nothing on the hosts");
      assert.equal(dry.code, 0, JSON.stringify(dry.report.notRepairable));
      const steps = (r: RepairReport, n: string) => r.nodes.find((x) => x.node === n)?.steps.map((s) => s.id);
      assert.deepEqual(steps(dry.report, WORKER), ["swap-off", "link-address", "gid-check", "link-boot"]);
      assert.deepEqual(steps(dry.report, HEAD), ["min-free-kbytes", "link-address", "gid-check"]);
      assert.ok(dry.report.nodes.every((n) => n.outcome === "planned"));
      assert.deepEqual(dry.report.notRepairable, []);

      // The worker's engine container up: refused (exit 2), nothing run on it.
      const engine = `/var/lib/dsv-sim/docker/containers/${worker.container.name}`;
      lab.must(WORKER, `echo running > ${engine}`);
      const serving = snapshots();
      try {
        const refused = await repair("--node", WORKER);
        assert.equal(refused.code, 2);
        const n = refused.report.nodes[0]!;
        assert.equal(n.outcome, "refused");
        assert.equal(n.engine, "running");
        assert.match(n.reason ?? "", /re-applying the link under a live NCCL job hangs it/);
        assert.deepEqual(snapshots(), serving, "a refused repair changed nothing");
      } finally {
        lab.must(WORKER, `rm -f ${engine}`);
      }

      // The repair: the plan's steps on both nodes, then doctor again, all PASS.
      const fixed = await repair();
      t.diagnostic(renderRepairReport(fixed.report));
      assert.equal(fixed.code, 0, `${fixed.err}\n${JSON.stringify(fixed.report, null, 2)}`);
      assert.deepEqual(
        fixed.report.nodes.map((n) => `${n.node} ${n.outcome}`),
        [`${HEAD} repaired`, `${WORKER} repaired`],
      );
      assert.ok(fixed.report.before.length >= 5);
      assert.deepEqual(fixed.report.after, []);
      const clean = await doctor();
      assert.deepEqual(failures(clean), []);
      assert.equal(clean.exitCode, 0);
      assert.equal(lab.must(WORKER, `cat /sys/class/net/${NETDEV}/mtu`).trim(), String(plan.link.mtu));
      assert.equal(lab.must(WORKER, "swapon --show=NAME --noheadings --raw").trim(), "");
      assert.equal(lab.must(HEAD, "sysctl -n vm.min_free_kbytes").trim(), String(plan.hardening.minFreeKbytes));
      assert.equal(lab.must(WORKER, "systemctl is-enabled dgx-spark-vllm-link.service").trim(), "enabled");
    } finally {
      lab.must(HEAD, ": > /var/lib/dsv-sim/gid-suppressed; sleep 0.8");
      lab.exec(WORKER, "swapoff /swapfile");
      lab.must(WORKER, `ip link set dev ${NETDEV} mtu 9000`);
      lab.must(WORKER, "systemctl enable dgx-spark-vllm-link.service");
    }
  });

  it("after the repair, pulumi destroy still restores both hosts to how they were before the bring-up", async () => {
    // The journal holds what the first run found: repair's re-runs must not have overwritten it.
    const tagFile = plan.image.tag.replace(/[/:]/g, "_");
    const hub = path.dirname(modelCacheDir(plan, plan.nodes[0]!));
    for (const h of [HEAD, WORKER]) lab.must(h, `rm -rf ${hub} /var/lib/dsv-sim/docker/images/${tagFile}`);
    const out = await destroy(lab, steps, created);
    assert.equal(out.failed, undefined, why(out.failed));
    for (const h of [HEAD, WORKER]) assert.equal(lab.snapshot(h), baseline[h], `${h} is back to its baseline`);
  });
});
