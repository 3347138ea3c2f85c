/**
 * Host rehearsal, the four phases: every remote command of SparkNode and RoceLink, as the
 * components render them, run over real SSH against two simulated Sparks (test/rehearsal/lab.ts)
 * in dependency order: a fresh bring-up, the same again, a reboot, and the delete.
 */
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { SYSCTL_FILE } from "../../src/plan/host";
import { LINK_UNIT, NETPLAN_FILE } from "../../src/plan/link";
import { MONITOR_UNIT } from "../../src/plan/monitor";
import type { ClusterPlan } from "../../src/plan/types";
import { HEAD, hostSpecs, rehearsalConfig, rehearsalPlan, WORKER } from "./cluster";
import { labUnavailable, SimLab } from "./lab";
import { captureSteps, describe as why, destroy, type RemoteStep, up } from "./runner";

const unavailable = labUnavailable();
// In CI the rehearsal must run: a machine that cannot host it fails instead of skipping.
const skip = unavailable && process.env.CI !== "true" ? `simulated hosts: ${unavailable}` : false;

/** The kernel-side part of a snapshot: addresses, links, sysctl values, swaps. */
const kernelState = (snap: string) =>
  snap
    .split("\n")
    .filter((l) => /^(addr|link|sysctl|swaps) /.test(l))
    .join("\n");

/**
 * What must run before what, from what each step needs: nothing before the node answers over
 * SSH; no change to a host before all its preflight checks passed; the GID check after the
 * address it looks for, the boot unit after the GID check; a DF ping after both ends' link steps.
 */
function mustPrecede(): [string, string][] {
  const preflight = ["gpu", "arch", "docker", "netdev", "disk"].map((c) => `preflight-${c}`);
  const changes = ["caches", "min-free-kbytes", "swap-off", "uma-monitor", "link-address", "gid-check", "link-boot"];
  const link = ["link-address", "gid-check", "link-boot"];
  const pairs: [string, string][] = [];
  for (const n of [HEAD, WORKER]) {
    for (const s of [...preflight, ...changes]) pairs.push([`${n}:reachable`, `${n}:${s}`]);
    for (const p of preflight) for (const s of changes) pairs.push([`${n}:${p}`, `${n}:${s}`]);
    pairs.push([`${n}:link-address`, `${n}:gid-check`], [`${n}:gid-check`, `${n}:link-boot`]);
  }
  for (const [a, b] of [
    [HEAD, WORKER],
    [WORKER, HEAD],
  ] as const) {
    for (const n of [a, b]) for (const s of link) pairs.push([`${n}:${s}`, `${a}:ping-${a}-${b}-t0`]);
  }
  return pairs;
}

describe("host rehearsal on two simulated Sparks", { skip }, () => {
  let lab: SimLab;
  let plan: ClusterPlan;
  let steps: RemoteStep[];
  let created: string[] = [];
  const baseline: Record<string, string> = {};
  const afterBringUp: Record<string, string> = {};

  before(async () => {
    lab = await SimLab.start(hostSpecs());
    plan = rehearsalPlan(rehearsalConfig(lab));
    steps = await captureSteps(plan, "r", lab.clientKey);
    for (const h of [HEAD, WORKER]) baseline[h] = lab.snapshot(h);
  });
  after(() => lab?.stop());

  it("renders the steps a user's pulumi up would run, in an order that respects dependsOn", () => {
    const ids = steps.map((s) => `${s.node}:${s.step}`);
    for (const n of [HEAD, WORKER]) {
      for (const s of [
        "reachable",
        "preflight-gpu",
        "preflight-arch",
        "preflight-docker",
        "preflight-netdev",
        "preflight-kernel",
        "preflight-disk",
        "caches",
        "min-free-kbytes",
        "swap-off",
        "uma-monitor",
        "link-address",
        "gid-check",
        "link-boot",
      ]) {
        assert.ok(ids.includes(`${n}:${s}`), `${n}:${s} is rendered (got ${ids.join(", ")})`);
      }
    }
    assert.ok(ids.includes(`${HEAD}:ping-${HEAD}-${WORKER}-t0`) && ids.includes(`${WORKER}:ping-${WORKER}-${HEAD}-t0`));
    // The recorded dependsOn edges (not the run order, which order() derives from them), closed
    // transitively, against what each step needs, written down here independently.
    const id = new Map(steps.map((s) => [s.name, `${s.node}:${s.step}`]));
    const deps = new Map(steps.map((s) => [id.get(s.name) as string, s.dependsOn.map((d) => id.get(d) as string)]));
    const upstream = (x: string, seen = new Set<string>()): Set<string> => {
      for (const d of deps.get(x) ?? []) if (!seen.has(d)) upstream(d, seen.add(d));
      return seen;
    };
    const missing = mustPrecede()
      .filter(([a, b]) => !upstream(b).has(a))
      .map(([a, b]) => `${a} before ${b}`);
    assert.deepEqual(missing, [], "every required ordering is a recorded dependsOn edge (directly or through others)");
  });

  it("1. fresh bring-up: reachable, preflight, hardening, link at MTU 9000, DF pings, GID check all pass", async () => {
    const out = await up(lab, steps);
    created = out.ran;
    assert.equal(out.failed, undefined, why(out.failed));
    assert.equal(out.ran.length, steps.length);

    for (const n of plan.nodes) {
      const p = n.dataPlane[0] as (typeof n.dataPlane)[number];
      const addr = lab.must(n.name, `ip -o -4 addr show dev ${p.netdev}`);
      assert.match(
        addr,
        new RegExp(` ${p.address.replace(/\./g, "\\.")}/${p.prefix} `),
        `${n.name} has its data-plane address`,
      );
      assert.equal(lab.must(n.name, `cat /sys/class/net/${p.netdev}/mtu`).trim(), "9000", `${n.name} MTU`);
      assert.notEqual(
        lab.rocev2GidIndex(n.name, p.hca, p.address),
        undefined,
        `${n.name} has a RoCEv2 GID for ${p.address}`,
      );
      // Persisted: netplan (root-only), sysctl.d, fstab swap line commented, units enabled.
      assert.match(
        lab.must(n.name, `stat -c %a ${NETPLAN_FILE}; cat ${NETPLAN_FILE}`),
        /^600\n[\s\S]*mtu: 9000[\s\S]*"10\.0\.0\.\d\/30"/,
      );
      assert.match(
        lab.must(n.name, `cat ${SYSCTL_FILE}`),
        new RegExp(`vm.min_free_kbytes = ${plan.hardening.minFreeKbytes}`),
      );
      assert.equal(lab.must(n.name, "sysctl -n vm.min_free_kbytes").trim(), String(plan.hardening.minFreeKbytes));
      assert.equal(lab.must(n.name, "swapon --show=NAME --noheadings --raw").trim(), "", `${n.name}: swap is off`);
      assert.match(lab.must(n.name, "cat /etc/fstab"), /^#dgx-spark-vllm# \/swapfile none swap/m);
      assert.equal(lab.must(n.name, `systemctl is-enabled ${LINK_UNIT}.service`).trim(), "enabled");
      assert.equal(lab.must(n.name, `systemctl is-active ${MONITOR_UNIT}.timer`).trim(), "active");
      assert.match(lab.must(n.name, `stat -c '%U %F' ${n.cache.huggingface}`), /^spark directory/);
    }
    // The DF ping is tight: one byte more than the MTU allows does not pass.
    const head = plan.nodes.find((n) => n.name === HEAD)!;
    const over = await lab.ssh(steps[0]!.conn, `ping -M do -s 8973 -c 1 -W 1 -I enp1s0f1np1 10.0.0.2`);
    assert.notEqual(over.code, 0, `a ${head.name} DF ping above the MTU fails`);
    for (const h of [HEAD, WORKER]) afterBringUp[h] = lab.snapshot(h);
  });

  it("2. the same again: every step succeeds and changes nothing on either host", async () => {
    const out = await up(lab, steps);
    assert.equal(out.failed, undefined, why(out.failed));
    for (const h of [HEAD, WORKER]) assert.equal(lab.snapshot(h), afterBringUp[h], `${h} unchanged by the second run`);
  });

  it("3. reboot: addresses, MTU and GID lost; the boot unit brings the link back and verification passes", async () => {
    for (const h of [HEAD, WORKER]) lab.reboot(h);
    for (const n of plan.nodes) {
      const p = n.dataPlane[0]!;
      // The boot unit hit the GID quirk and re-bounced the address.
      assert.match(
        lab.journal(n.name),
        new RegExp(`RoCEv2 GID for ${p.address.replace(/\./g, "\\.")} missing on ${p.hca}; re-adding the address`),
      );
      assert.notEqual(lab.rocev2GidIndex(n.name, p.hca, p.address), undefined, `${n.name} GID back`);
      assert.equal(
        kernelState(lab.snapshot(n.name)),
        kernelState(afterBringUp[n.name] as string),
        `${n.name}: addresses, MTU, sysctl and swap as after the bring-up`,
      );
    }
    // The verification the components run: GID checks and the DF pings both ways.
    const verify = steps.filter((s) => s.step === "gid-check" || s.step.startsWith("ping-"));
    assert.ok(verify.length >= 4);
    const out = await up(lab, verify);
    assert.equal(out.failed, undefined, why(out.failed));
  });

  it("3a. an OS update adds a swap line and lowers min_free_kbytes: the boot unit re-asserts both", async () => {
    // What an update can leave behind: a new swap line in fstab and a sysctl file read after ours.
    const drop = "/etc/sysctl.d/99-os-update.conf";
    for (const h of [HEAD, WORKER]) {
      lab.must(h, `cp -p /etc/fstab /root/fstab.ok; echo '/swapfile none swap sw 0 0' >> /etc/fstab`);
      lab.must(h, `echo 'vm.min_free_kbytes = 65536' > ${drop}`);
    }
    try {
      for (const h of [HEAD, WORKER]) lab.reboot(h);
      for (const h of [HEAD, WORKER]) {
        assert.equal(
          lab.must(h, "swapon --show=NAME --noheadings --raw").trim(),
          "",
          `${h}: swap off after the reboot`,
        );
        assert.equal(
          lab.must(h, "sysctl -n vm.min_free_kbytes").trim(),
          String(plan.hardening.minFreeKbytes),
          `${h}: vm.min_free_kbytes back to the plan's value`,
        );
        // Commented out with the swap-off step's marker, so its delete restores the line.
        assert.doesNotMatch(lab.must(h, "cat /etc/fstab"), /^\/swapfile /m, `${h}: no active swap line in fstab`);
        assert.equal(
          kernelState(lab.snapshot(h)),
          kernelState(afterBringUp[h] as string),
          `${h}: addresses, MTU, sysctl and swap as after the bring-up`,
        );
      }
    } finally {
      for (const h of [HEAD, WORKER]) lab.must(h, `cat /root/fstab.ok > /etc/fstab; rm -f /root/fstab.ok ${drop}`);
    }
  });

  it("3b. reboot without the boot unit's recovery: the GID check step itself recovers the quirk", async () => {
    // Disable the unit so boot leaves the link down, then run the link steps as pulumi would on a re-create.
    for (const h of [HEAD, WORKER]) lab.must(h, `systemctl disable ${LINK_UNIT}.service`);
    for (const h of [HEAD, WORKER]) lab.reboot(h);
    const p = plan.nodes[0]!.dataPlane[0]!;
    assert.doesNotMatch(
      lab.must(HEAD, `ip -o -4 addr show dev ${p.netdev}`),
      / 10\.0\.0\.1\//,
      "nothing brought the address back",
    );
    const pings = steps.filter((s) => s.step.startsWith("ping-"));
    const before = await up(lab, pings);
    assert.ok(before.failed, "the DF ping fails while the link is down");
    const linkSteps = steps.filter(
      (s) => ["link-address", "gid-check", "link-boot"].includes(s.step) || s.step.startsWith("ping-"),
    );
    const out = await up(lab, linkSteps);
    assert.equal(out.failed, undefined, why(out.failed));
    for (const n of plan.nodes)
      assert.notEqual(lab.rocev2GidIndex(n.name, n.dataPlane[0]!.hca, n.dataPlane[0]!.address), undefined);
    for (const h of [HEAD, WORKER])
      assert.equal(lab.must(h, `systemctl is-enabled ${LINK_UNIT}.service`).trim(), "enabled");
  });

  it("4. delete: every file and setting the bring-up made is reverted", async () => {
    const out = await destroy(lab, steps, created);
    assert.equal(out.failed, undefined, why(out.failed));
    for (const h of [HEAD, WORKER]) {
      assert.equal(lab.snapshot(h), baseline[h], `${h} is back to how it was before the bring-up`);
    }
  });
});
