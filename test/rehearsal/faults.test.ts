/**
 * Host rehearsal, bad hosts: each fault gives a clear error naming the node and the step, no
 * later step runs, and a destroy of what did run puts both hosts back. Last, a deliberately
 * broken command makes the rehearsal fail (so its passes mean something).
 */
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { HEAD, hostSpecs, rehearsalConfig, rehearsalPlan, WORKER } from "./cluster";
import { labUnavailable, SimLab } from "./lab";
import { captureSteps, describe as why, destroy, type Outcome, type RemoteStep, up, type UpOptions } from "./runner";

const unavailable = labUnavailable();
const skip = unavailable && process.env.CI !== "true" ? `simulated hosts: ${unavailable}` : false;
const NETDEV = "enp1s0f1np1";

describe("host rehearsal: bad hosts fail clearly and early", { skip }, () => {
  let lab: SimLab;
  const baseline: Record<string, string> = {};
  let n = 0;

  before(async () => {
    lab = await SimLab.start(hostSpecs());
    for (const h of [HEAD, WORKER]) baseline[h] = lab.snapshot(h);
  });
  after(() => lab?.stop());

  interface Expect {
    node: string;
    step: string;
    /** What the error must say. */
    says: RegExp;
  }

  /**
   * Deploy `config` on the (faulty) hosts; assert the failure, that nothing ran after it, and that
   * destroying what ran leaves both hosts as they were before the deploy. Returns the outcome.
   */
  async function deployFails(
    config: Record<string, any>,
    expect: Expect,
    opts: UpOptions & { edit?: (steps: RemoteStep[]) => RemoteStep[] } = {},
  ): Promise<Outcome> {
    const before: Record<string, string> = { [HEAD]: lab.snapshot(HEAD), [WORKER]: lab.snapshot(WORKER) };
    let steps = await captureSteps(rehearsalPlan(config), `f${++n}`, lab.clientKey);
    if (opts.edit) steps = opts.edit(steps);
    const out = await up(lab, steps, opts);
    assert.ok(out.failed, `the deploy should fail at ${expect.node}:${expect.step}`);
    assert.equal(`${out.failed.node}:${out.failed.step}`, `${expect.node}:${expect.step}`, why(out.failed));
    assert.match(out.failed.stderr, expect.says);
    // Nothing after the failed step ran, and nothing that depends on it.
    assert.equal(out.ran[out.ran.length - 1], out.failed.name);
    const dependents = steps.filter((s) => s.dependsOn.includes(out.failed!.name)).map((s) => s.name);
    for (const d of dependents) assert.ok(!out.ran.includes(d), `${d} ran after its dependency failed`);
    // pulumi destroy of what was created (the failed step was not) restores both hosts.
    const created = out.ran.slice(0, -1);
    const back = await destroy(lab, steps, created);
    assert.equal(back.failed, undefined, why(back.failed));
    for (const h of [HEAD, WORKER])
      assert.equal(lab.snapshot(h), before[h], `${h} is as it was before the failed deploy`);
    return out;
  }

  it("unreachable management address: fails at the node's reachable step, nothing runs on it", async () => {
    const c = rehearsalConfig(lab);
    c.nodes[1].ssh.host = "10.231.9.2"; // no host has it
    const out = await deployFails(c, { node: WORKER, step: "reachable", says: /10\.231\.9\.2|unreachable|timed out/i });
    assert.ok(!out.ran.some((r) => r.includes(`${WORKER}-preflight`)));
  });

  it("wrong pinned host key: refused at reachable before any command runs", async () => {
    const c = rehearsalConfig(lab);
    c.nodes[0].ssh.hostKey = lab.host(WORKER).hostKey; // the other host's key
    const out = await deployFails(c, { node: HEAD, step: "reachable", says: /host key verification failed/i });
    assert.equal(out.ran.length, 1);
  });

  it("wrong GPU: preflight gpu names the GPU found, no hardening runs", async () => {
    lab.must(
      WORKER,
      "cp /var/lib/dsv-sim/gpu /var/lib/dsv-sim/gpu.ok; echo 'NVIDIA GeForce RTX 5090, 12.0' > /var/lib/dsv-sim/gpu",
    );
    try {
      const out = await deployFails(rehearsalConfig(lab), {
        node: WORKER,
        step: "preflight-gpu",
        says: /node spark-worker: preflight gpu: expected a GB10 with compute capability 12\.1, found 'NVIDIA GeForce RTX 5090, 12\.0'/,
      });
      assert.ok(!out.ran.some((r) => /spark-worker-(caches|min-free-kbytes|swap-off)$/.test(r)));
    } finally {
      lab.must(WORKER, "mv /var/lib/dsv-sim/gpu.ok /var/lib/dsv-sim/gpu");
    }
  });

  it("missing docker: preflight docker says what to install", async () => {
    lab.must(
      HEAD,
      "mkdir -p /root/docker.off && mv /usr/local/bin/docker /root/docker.off/d && rm /usr/local/sbin/docker",
    );
    try {
      // Without the stand-in, the real docker client finds no daemon on the host.
      await deployFails(rehearsalConfig(lab), {
        node: HEAD,
        step: "preflight-docker",
        says: /node spark-head: preflight docker: docker does not answer for this user: install docker/,
      });
    } finally {
      lab.must(
        HEAD,
        `install -m 0755 /root/docker.off/d /usr/local/bin/docker; install -m 0755 /root/docker.off/d /usr/local/sbin/docker; rm -rf /root/docker.off`,
      );
    }
  });

  it("link down on one side: preflight netdev reports the port not Up (the cable)", async () => {
    lab.must(WORKER, `ip link set dev ${NETDEV} down`);
    try {
      await deployFails(rehearsalConfig(lab), {
        node: HEAD,
        step: "preflight-netdev",
        says: /node spark-head: preflight netdev: rocep1s0f1 ==> enp1s0f1np1 is not Up in ibdev2netdev: check the cable/,
      });
    } finally {
      lab.must(WORKER, `ip link set dev ${NETDEV} up`);
    }
  });

  it("MTU mismatch between the ends: the don't-fragment ping fails and names the MTU", async () => {
    // Something on the worker puts its end back to 1500 after the link step (as a firmware or
    // network-manager reset does); the head still sends 9000-byte frames.
    await deployFails(
      rehearsalConfig(lab),
      {
        node: HEAD,
        step: `ping-${HEAD}-${WORKER}-t0`,
        says: /node spark-head: link-verify: no don't-fragment ping of 8972 bytes to spark-worker \(10\.0\.0\.2\) over enp1s0f1np1: check the MTU \(9000\) on both ends/,
      },
      {
        after: (s) =>
          s.node === WORKER && s.step === "link-address"
            ? void lab.must(WORKER, `ip link set dev ${NETDEV} mtu 1500`)
            : undefined,
      },
    );
  });

  it("data-plane address already in use on another interface: link-address refuses, no change", async () => {
    lab.must(
      WORKER,
      "ip link add dpx0 type veth peer name dpx1 && ip addr add 10.0.0.2/32 dev dpx0 && ip link set dpx0 up",
    );
    try {
      await deployFails(rehearsalConfig(lab), {
        node: WORKER,
        step: "link-address",
        says: /node spark-worker: link-address: 10\.0\.0\.2 is already in use on interface dpx0/,
      });
      assert.doesNotMatch(lab.must(WORKER, `ip -o -4 addr show dev ${NETDEV}`), /10\.0\.0\.2/);
    } finally {
      lab.must(WORKER, "ip link del dpx0");
    }
  });

  it("hosts are back to their baseline after every fault", () => {
    for (const h of [HEAD, WORKER]) assert.equal(lab.snapshot(h), baseline[h]);
  });

  it("a deliberately broken command (a missing quote) makes the rehearsal fail", async () => {
    const broken = (steps: RemoteStep[]) =>
      steps.map((s) => {
        if (s.node !== HEAD || s.step !== "link-address") return s;
        // link_check's awk program (src/host/link.sh, inlined into the step) loses its opening quote.
        assert.ok(s.create.includes("'$2 != dev"), "the link-address script has the quote this test removes");
        return { ...s, create: s.create.replace("'$2 != dev", "$2 != dev") };
      });
    await deployFails(
      rehearsalConfig(lab),
      { node: HEAD, step: "link-address", says: /unexpected EOF|syntax error/ },
      { edit: broken },
    );
  });
});
