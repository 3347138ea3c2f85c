/**
 * link.disableIpv6 on two simulated Sparks: the bring-up turns IPv6 off on the data-plane ports
 * (persisted in a sysctl.d file, the GID check still passes), and delete puts every port's value
 * and the file back as they were.
 */
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { disableIpv6Key, IPV6_SYSCTL_FILE } from "../../src/plan/link";
import type { ClusterPlan } from "../../src/plan/types";
import { HEAD, hostSpecs, rehearsalConfig, rehearsalPlan, WORKER } from "./cluster";
import { labUnavailable, SimLab } from "./lab";
import { captureSteps, describe as why, destroy, type RemoteStep, up } from "./runner";
import { runDoctor } from "../../src/doctor/run";

const unavailable = labUnavailable();
const skip = unavailable && process.env.CI !== "true" ? `simulated hosts: ${unavailable}` : false;

describe("IPv6 off on the data-plane ports (link.disableIpv6)", { skip }, () => {
  let lab: SimLab;
  let plan: ClusterPlan;
  let steps: RemoteStep[];
  let created: string[] = [];
  const baseline: Record<string, string> = {};

  before(async () => {
    lab = await SimLab.start(hostSpecs());
    const c = rehearsalConfig(lab);
    c.link = { disableIpv6: true };
    plan = rehearsalPlan(c);
    steps = await captureSteps(plan, "v6", lab.clientKey);
    for (const h of [HEAD, WORKER]) baseline[h] = lab.snapshot(h);
  });
  after(() => lab?.stop());

  it("bring-up: disable_ipv6 is 1 on every port, persisted, and the GID check after it passes", async () => {
    const ids = steps.map((s) => `${s.node}:${s.step}`);
    assert.ok(ids.indexOf(`${HEAD}:ipv6-off`) < ids.indexOf(`${HEAD}:gid-check`), ids.join(", "));
    const out = await up(lab, steps);
    created = out.ran;
    assert.equal(out.failed, undefined, why(out.failed));
    for (const n of plan.nodes) {
      for (const p of n.dataPlane) {
        assert.equal(lab.must(n.name, `sysctl -n ${disableIpv6Key(p.netdev)}`).trim(), "1", `${n.name} ${p.netdev}`);
        assert.match(lab.must(n.name, `cat ${IPV6_SYSCTL_FILE}`), new RegExp(`${disableIpv6Key(p.netdev)} = 1`));
      }
    }
  });

  it("doctor: PASS while IPv6 is off; IPv6 back on (an OS update, a hand) is a FAIL on that port", async () => {
    const doctor = () =>
      runDoctor(plan, "rehearsal", {
        sshCommand: ["ip", "netns", "exec", lab.labNs, "ssh"],
        extraOptions: ["-F", "/dev/null"],
        privateKeys: { [HEAD]: lab.clientKey, [WORKER]: lab.clientKey },
      });
    const ok = await doctor();
    for (const h of [HEAD, WORKER])
      assert.equal(ok.checks.find((c) => c.id === "ipv6.0" && c.node === h)?.status, "PASS", h);
    const netdev = plan.nodes[1]!.dataPlane[0]!.netdev;
    lab.must(WORKER, `sysctl -q -w ${disableIpv6Key(netdev)}=0`);
    try {
      const bad = await doctor();
      const c = bad.checks.find((x) => x.id === "ipv6.0" && x.node === WORKER);
      assert.equal(c?.status, "FAIL");
      assert.match(c?.evidence ?? "", /disable_ipv6 0/);
    } finally {
      lab.must(WORKER, `sysctl -q -w ${disableIpv6Key(netdev)}=1`);
    }
  });

  it("delete: every port's previous value and the file are back", async () => {
    const out = await destroy(lab, steps, created);
    assert.equal(out.failed, undefined, why(out.failed));
    for (const n of plan.nodes) {
      for (const p of n.dataPlane)
        assert.equal(lab.must(n.name, `sysctl -n ${disableIpv6Key(p.netdev)}`).trim(), "0", `${n.name} ${p.netdev}`);
    }
    for (const h of [HEAD, WORKER]) assert.equal(lab.snapshot(h), baseline[h], `${h} is back to how it was`);
  });
});
