/**
 * Host rehearsal with both twins of the QSFP port: two veth pairs as the two RoCE links, two
 * data-plane ports per node. Bring-up, DF pings over each twin in both directions, a GID per
 * address, then delete back to the baseline.
 */
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { NETPLAN_FILE } from "../../src/plan/link";
import type { ClusterPlan } from "../../src/plan/types";
import { HEAD, hostSpecs, rehearsalConfig, rehearsalPlan, WORKER } from "./cluster";
import { labUnavailable, SimLab } from "./lab";
import { captureSteps, describe as why, destroy, type RemoteStep, up } from "./runner";

const unavailable = labUnavailable();
const skip = unavailable && process.env.CI !== "true" ? `simulated hosts: ${unavailable}` : false;

describe("host rehearsal with twin ports", { skip }, () => {
  let lab: SimLab;
  let plan: ClusterPlan;
  let steps: RemoteStep[];
  const baseline: Record<string, string> = {};

  before(async () => {
    lab = await SimLab.start(hostSpecs(true));
    plan = rehearsalPlan(rehearsalConfig(lab, { twins: true }));
    steps = await captureSteps(plan, "tw", lab.clientKey);
    for (const h of [HEAD, WORKER]) baseline[h] = lab.snapshot(h);
  });
  after(() => lab?.stop());

  it("brings up both twins: addresses, MTU, GIDs, netplan with both ports, DF pings over each twin both ways", async () => {
    const pings = steps.filter((s) => s.step.startsWith("ping-")).map((s) => `${s.node}:${s.step}`);
    assert.deepEqual(pings.sort(), [
      `${HEAD}:ping-${HEAD}-${WORKER}-t0`,
      `${HEAD}:ping-${HEAD}-${WORKER}-t1`,
      `${WORKER}:ping-${WORKER}-${HEAD}-t0`,
      `${WORKER}:ping-${WORKER}-${HEAD}-t1`,
    ]);
    const out = await up(lab, steps);
    assert.equal(out.failed, undefined, why(out.failed));
    for (const n of plan.nodes) {
      const netplan = lab.must(n.name, `cat ${NETPLAN_FILE}`);
      for (const p of n.dataPlane) {
        assert.match(
          lab.must(n.name, `ip -o -4 addr show dev ${p.netdev}`),
          new RegExp(` ${p.address.replace(/\./g, "\\.")}/${p.prefix} `),
        );
        assert.equal(lab.must(n.name, `cat /sys/class/net/${p.netdev}/mtu`).trim(), "9000");
        assert.notEqual(lab.rocev2GidIndex(n.name, p.hca, p.address), undefined, `${n.name} ${p.hca}`);
        assert.ok(
          netplan.includes(`    ${p.netdev}:`) && netplan.includes(`"${p.address}/${p.prefix}"`),
          `${n.name} netplan has ${p.netdev}`,
        );
      }
    }
    // The twins are separate links: with twin 1 down on the worker, the twin-1 ping fails and twin 0 still passes.
    lab.must(WORKER, "ip link set dev enP2p1s0f1np1 down");
    try {
      const t0 = await up(
        lab,
        steps.filter((s) => s.step === `ping-${HEAD}-${WORKER}-t0`),
      );
      assert.equal(t0.failed, undefined, why(t0.failed));
      const t1 = await up(
        lab,
        steps.filter((s) => s.step === `ping-${HEAD}-${WORKER}-t1`),
      );
      assert.match(t1.failed?.stderr ?? "", /to spark-worker \(10\.0\.1\.2\) over enP2p1s0f1np1/);
    } finally {
      lab.must(WORKER, "ip link set dev enP2p1s0f1np1 up");
    }
    const back = await destroy(lab, steps, out.ran);
    assert.equal(back.failed, undefined, why(back.failed));
    for (const h of [HEAD, WORKER]) assert.equal(lab.snapshot(h), baseline[h], `${h} back to its baseline`);
  });
});
