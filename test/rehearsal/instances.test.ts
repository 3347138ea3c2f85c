/**
 * Two clusters on the same two simulated Sparks (issue #13): SparkNode and RoceLink of a cluster
 * "blue" and of a cluster "green", both from the same config, run over real SSH as the components
 * render them. Their units, scripts and journals carry their names; the settings one per host by
 * nature (swap, vm.min_free_kbytes, the data-plane netdevs, the netplan and sysctl files, the
 * cache folders) are held by both: destroying blue leaves them as green needs them, destroying
 * green too returns both hosts to exactly their state before.
 */
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { loadClusterConfig } from "../../src/config/load";
import { planCluster } from "../../src/plan/cluster";
import { disableIpv6Key, IPV6_SYSCTL_FILE, NETPLAN_FILE } from "../../src/plan/link";
import { SYSCTL_FILE } from "../../src/plan/host";
import type { ClusterPlan } from "../../src/plan/types";
import { HEAD, hostSpecs, rehearsalConfig, WORKER } from "./cluster";
import { labUnavailable, SimLab } from "./lab";
import { captureSteps, describe as why, destroy, type RemoteStep, up } from "./runner";

const unavailable = labUnavailable();
const skip = unavailable && process.env.CI !== "true" ? `simulated hosts: ${unavailable}` : false;

/** The kernel-side part of a snapshot: addresses, links, sysctl values, swaps. */
const kernelState = (snap: string) =>
  snap
    .split("\n")
    .filter((l) => /^(addr|link|sysctl|swaps) /.test(l))
    .join("\n");

describe("two clusters on the same two simulated Sparks", { skip }, () => {
  let lab: SimLab;
  const plans: Record<string, ClusterPlan> = {};
  const steps: Record<string, RemoteStep[]> = {};
  const created: Record<string, string[]> = {};
  const baseline: Record<string, string> = {};
  const bothUp: Record<string, string> = {};

  before(async () => {
    lab = await SimLab.start(hostSpecs());
    // IPv6 off too: a setting both clusters ask for, held like the others.
    const raw = rehearsalConfig(lab);
    raw.link = { ...raw.link, disableIpv6: true };
    const { config } = loadClusterConfig(raw, "plan");
    for (const c of ["blue", "green"]) {
      plans[c] = planCluster(config, [], { instance: c });
      steps[c] = await captureSteps(plans[c] as ClusterPlan, c, lab.clientKey);
    }
    for (const h of [HEAD, WORKER]) baseline[h] = lab.snapshot(h);
  });
  after(() => lab?.stop());

  it("both come up on the same hosts, each with its own units, and the shared settings held by both", async () => {
    // At once, as one stack holding both clusters runs them: the engine starts independent
    // resources in parallel, so both clusters' steps on a host race for the shared settings.
    const outs = await Promise.all(["blue", "green"].map((c) => up(lab, steps[c] as RemoteStep[])));
    for (const [i, c] of ["blue", "green"].entries()) {
      const out = outs[i];
      assert.ok(out);
      created[c] = out.ran;
      assert.equal(out.failed, undefined, `${c}: ${why(out.failed)}`);
    }
    for (const h of [HEAD, WORKER]) {
      for (const c of ["blue", "green"]) {
        const n = plans[c]?.names;
        assert.equal(
          lab.must(h, `systemctl is-enabled ${n?.linkUnit}.service`).trim(),
          "enabled",
          `${h}: ${c}'s boot unit`,
        );
        assert.equal(
          lab.must(h, `systemctl is-active ${n?.monitorUnit}.timer`).trim(),
          "active",
          `${h}: ${c}'s monitor`,
        );
      }
      const holders = lab.must(h, "cat /var/lib/dgx-spark-vllm/journal/swaps.holders");
      assert.deepEqual(holders.split("\n").filter(Boolean).sort(), ["dgx-spark-vllm-blue", "dgx-spark-vllm-green"]);
      bothUp[h] = lab.snapshot(h);
    }
  });

  it("destroying blue leaves what green holds: swap off, min_free_kbytes, the link and its files; blue's own units go", async () => {
    const out = await destroy(lab, steps.blue as RemoteStep[], created.blue as string[]);
    assert.equal(out.failed, undefined, why(out.failed));
    const plan = plans.green as ClusterPlan;
    for (const h of [HEAD, WORKER]) {
      assert.equal(
        kernelState(lab.snapshot(h)),
        kernelState(bothUp[h] as string),
        `${h}: addresses, MTU, sysctl, swap as before`,
      );
      assert.equal(lab.must(h, "swapon --show=NAME --noheadings --raw").trim(), "", `${h}: swap still off`);
      assert.equal(lab.must(h, "sysctl -n vm.min_free_kbytes").trim(), String(plan.hardening.minFreeKbytes));
      assert.match(lab.must(h, `cat ${NETPLAN_FILE}`), /mtu: 9000/);
      assert.match(lab.must(h, `cat ${SYSCTL_FILE}`), /vm.min_free_kbytes/);
      assert.match(lab.must(h, "cat /etc/fstab"), /^#dgx-spark-vllm# \/swapfile none swap/m);
      assert.equal(lab.must(h, `systemctl is-enabled ${plan.names.linkUnit}.service`).trim(), "enabled");
      assert.notEqual(
        lab.exec(h, "systemctl cat dgx-spark-vllm-blue-link.service").code,
        0,
        `${h}: blue's boot unit is gone`,
      );
      assert.notEqual(lab.exec(h, "test -e /var/lib/dgx-spark-vllm-blue").code, 0, `${h}: blue's journal is gone`);
      assert.equal(lab.must(h, "cat /var/lib/dgx-spark-vllm/journal/swaps.holders"), "dgx-spark-vllm-green\n");
      for (const p of plan.nodes.find((n) => n.name === h)?.dataPlane ?? []) {
        assert.equal(
          lab.must(h, `sysctl -n ${disableIpv6Key(p.netdev)}`).trim(),
          "1",
          `${h} ${p.netdev}: IPv6 still off`,
        );
      }
      assert.match(lab.must(h, `cat ${IPV6_SYSCTL_FILE}`), /disable_ipv6 = 1/);
    }
    // green's link still verifies both ways
    const pings = (steps.green as RemoteStep[]).filter((s) => s.step.startsWith("ping-") || s.step === "gid-check");
    const verify = await up(lab, pings);
    assert.equal(verify.failed, undefined, why(verify.failed));
  });

  it("destroying green too returns both hosts to exactly their state before either", async () => {
    const out = await destroy(lab, steps.green as RemoteStep[], created.green as string[]);
    assert.equal(out.failed, undefined, why(out.failed));
    for (const h of [HEAD, WORKER]) assert.equal(lab.snapshot(h), baseline[h], `${h} is back to how it was`);
  });
});
