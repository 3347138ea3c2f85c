/**
 * More than two Sparks, rehearsed (issue #15): the four nodes of stacks/Pulumi.2x2-replicas.yaml
 * as four simulated hosts on one switch (test/rehearsal/lab.ts, a bridge per twin), planned both
 * ways the docs describe: one TP=4 cluster (serving.replicas: 1) and two independent TP=2 replicas
 * (serving.replicas: 2). For each, every remote command of SparkNode and RoceLink runs over real
 * SSH as the components render them (test/rehearsal/runner.ts), doctor reads the result, a broken
 * port fails exactly the checks it should, and the delete returns all four hosts to how they were.
 * What this does not prove: a real switch, NCCL over RoCE, or a vLLM run across the nodes.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { runDoctor, type DoctorReport } from "../../src/doctor/run";
import { planFromInput } from "../../src/plan/cluster";
import { NETPLAN_FILE } from "../../src/plan/link";
import { planDeploymentFromInput, type DeploymentPlan } from "../../src/plan/replicas";
import type { ClusterPlan } from "../../src/plan/types";
import { watchdogStep } from "../../src/plan/watchdog";
import { pointAt, seedVerifiedWeights, specsOf, stackInput } from "./cluster";
import { labUnavailable, SimLab, type Conn } from "./lab";
import { captureSteps, describe as why, destroy, type RemoteStep, up } from "./runner";

const unavailable = labUnavailable();
// In CI the rehearsal must run: a machine that cannot host it fails instead of skipping.
const skip = unavailable && process.env.CI !== "true" ? `simulated hosts: ${unavailable}` : false;

const STACK = "2x2-replicas";
const NODES = ["spark-a1", "spark-a2", "spark-b1", "spark-b2"] as const;
const IMAGE_ID = `sha256:${"cd34".repeat(16)}`;

/** The stack's four nodes as one TP=4 cluster: no replicas, one head (what the docs say to change). */
function tp4Input(): Record<string, any> {
  const c = stackInput(STACK);
  c.serving = { ...c.serving, replicas: 1 };
  for (const n of c.nodes) delete n.replica;
  c.nodes[2].role = "worker";
  return c;
}

/** `from->to` of every ping check among the steps. */
const pingPairs = (steps: readonly RemoteStep[]) =>
  steps
    .filter((s) => s.step.startsWith("ping-"))
    .map((s) => s.step.replace(/^ping-/, "").replace(/-t\d+$/, ""))
    .map((p) => {
      const from = NODES.find((n) => p.startsWith(`${n}-`)) as string;
      return `${from}->${p.slice(from.length + 1)}`;
    })
    .sort();

/** Every ordered pair of distinct nodes of `names`. */
const pairsOf = (names: readonly string[]) =>
  names.flatMap((a) => names.filter((b) => b !== a).map((b) => `${a}->${b}`)).sort();

describe("four simulated Sparks on one switch: TP=4 and 2x2 replicas", { skip }, () => {
  let lab: SimLab;
  const baseline: Record<string, string> = {};

  /**
   * Run every ping check on its own, all at once (read-only; a failing ping waits for its replies):
   * `from->to` to its error, "" when it passed.
   */
  async function eachPing(steps: readonly RemoteStep[]): Promise<Map<string, string>> {
    const pings = steps.filter((s) => s.step.startsWith("ping-"));
    const pairs = pingPairs(pings);
    const results = await Promise.all(pings.map((s) => lab.ssh(s.conn, s.create)));
    const byPair = new Map<string, string>();
    pings.forEach((s, i) => {
      const pair = pairs.find((p) => s.step === `ping-${p.replace("->", "-")}-t0`) as string;
      const r = results[i] as { code: number; stderr: string };
      byPair.set(pair, r.code === 0 ? "" : r.stderr.trim());
    });
    return new Map([...byPair].sort(([a], [b]) => a.localeCompare(b)));
  }
  const failing = (m: Map<string, string>) => [...m].filter(([, e]) => e !== "").map(([p]) => p);

  /** Doctor as the library runs it (every node probed over SSH); asserts it changed nothing on the hosts. */
  async function doctor(plan: ClusterPlan): Promise<DoctorReport> {
    const before = NODES.map((h) => lab.snapshot(h));
    const report = await runDoctor(plan, "rehearsal", {
      sshCommand: ["ip", "netns", "exec", lab.labNs, "ssh"],
      extraOptions: ["-F", "/dev/null"],
      privateKeys: Object.fromEntries(plan.nodes.map((n) => [n.name, lab.clientKey])),
    });
    assert.deepEqual(
      NODES.map((h) => lab.snapshot(h)),
      before,
      "doctor changed nothing on the hosts",
    );
    return report;
  }
  const notPass = (r: DoctorReport) =>
    r.checks.filter((c) => c.status !== "PASS").map((c) => `${c.status} ${c.node}:${c.id}: ${c.evidence}`);

  /** What a finished deploy leaves (image, weights) on a plan's nodes; returns the undo. */
  function seedDeploy(plan: ClusterPlan): () => void {
    const snaps = Object.fromEntries(plan.nodes.map((n) => [n.name, lab.snapshot(n.name)]));
    const tagFile = plan.image.tag.replace(/[/:]/g, "_");
    for (const n of plan.nodes) lab.must(n.name, `echo ${IMAGE_ID} > /var/lib/dsv-sim/docker/images/${tagFile}`);
    seedVerifiedWeights(lab, plan);
    return () => {
      for (const n of plan.nodes) {
        lab.must(n.name, `rm -rf ${n.cache.huggingface}/hub /var/lib/dsv-sim/docker/images/${tagFile}`);
        assert.equal(lab.snapshot(n.name), snaps[n.name], `${n.name}: the seeded image and weights are gone`);
      }
    };
  }

  /** The data-plane address (with its /24) and MTU 9000 on every node's port, and its RoCEv2 GID. */
  function assertDataPlane(plan: ClusterPlan): void {
    for (const n of plan.nodes) {
      const p = n.dataPlane[0] as ClusterPlan["nodes"][number]["dataPlane"][number];
      assert.equal(p.prefix, 24);
      assert.match(
        lab.must(n.name, `ip -o -4 addr show dev ${p.netdev}`),
        new RegExp(` ${p.address.replace(/\./g, "\\.")}/24 `),
        `${n.name}: ${p.address}/24 on ${p.netdev}`,
      );
      assert.equal(lab.must(n.name, `cat /sys/class/net/${p.netdev}/mtu`).trim(), "9000", `${n.name}: MTU`);
      assert.notEqual(lab.rocev2GidIndex(n.name, p.hca, p.address), undefined, `${n.name}: RoCEv2 GID`);
      assert.match(
        lab.must(n.name, `cat ${NETPLAN_FILE}`),
        new RegExp(`mtu: 9000[\\s\\S]*"${p.address.replace(/\./g, "\\.")}/24"`),
        `${n.name}: netplan persists the /24`,
      );
      assert.equal(lab.must(n.name, "ibdev2netdev").trim(), `${p.hca} port 1 ==> ${p.netdev} (Up)`);
    }
  }

  before(async () => {
    lab = await SimLab.start(specsOf(stackInput(STACK)), { dataPlane: "switch" });
    for (const h of NODES) baseline[h] = lab.snapshot(h);
  });
  after(() => lab?.stop());

  it("the switch: four hosts, each port up at MTU 1500 on one bridge; no two-host cable assumed", () => {
    assert.equal(lab.dataPlane, "switch");
    assert.deepEqual(
      lab.hosts.map((h) => h.name),
      [...NODES],
    );
    for (const h of NODES) {
      assert.equal(lab.must(h, "cat /sys/class/net/enp1s0f1np1/mtu").trim(), "1500", `${h}: MTU before the plan`);
      assert.equal(lab.must(h, "ibdev2netdev").trim(), "rocep1s0f1 port 1 ==> enp1s0f1np1 (Up)");
    }
    const ports = execIn(lab.switchNs as string, "ip -o link show master br0");
    assert.equal(ports.split("\n").filter(Boolean).length, 4, ports);
  });

  describe("one TP=4 cluster (serving.replicas: 1)", () => {
    let plan: ClusterPlan;
    let steps: RemoteStep[];
    let created: string[] = [];
    let unseed: () => void = () => undefined;

    before(async () => {
      plan = planFromInput(pointAt(lab, tp4Input()), "plan");
      steps = await captureSteps(plan, "tp4", lab.clientKey);
    });

    it("bring-up on all four: reachable, preflight, hardening, link at MTU 9000 on the /24, GID check; DF pings between every pair", async () => {
      assert.deepEqual(pingPairs(steps), pairsOf(NODES), "the plan DF-pings every ordered pair of the four");
      for (const n of NODES)
        for (const s of ["reachable", "preflight-netdev", "swap-off", "link-address", "gid-check", "link-boot"])
          assert.ok(
            steps.some((x) => x.node === n && x.step === s),
            `${n}:${s} is rendered`,
          );
      const out = await up(lab, steps);
      created = out.ran;
      assert.equal(out.failed, undefined, why(out.failed));
      assert.equal(out.ran.length, steps.length);
      assertDataPlane(plan);
      // One head, ranks in config order, every rank's rendezvous at the head's data-plane address.
      assert.equal(plan.cluster.head, "spark-a1");
      assert.equal(plan.cluster.tensorParallelSize, 4);
      assert.deepEqual(
        plan.nodes.map((n) => `${n.name}:${n.role}:${n.rank}`),
        ["spark-a1:head:0", "spark-a2:worker:1", "spark-b1:worker:2", "spark-b2:worker:3"],
      );
      for (const n of plan.nodes) assert.equal(n.env.MASTER_ADDR, "10.0.0.11", `${n.name}: MASTER_ADDR`);
      assert.equal(plan.cluster.endpoint, `http://${lab.host("spark-a1").mgmt}:8000/v1`);
    });

    it("doctor: every check PASS on all four nodes (each pings and reaches its three peers)", async () => {
      unseed = seedDeploy(plan);
      const r = await doctor(plan);
      assert.deepEqual(notPass(r), []);
      assert.equal(r.exitCode, 0);
      for (const n of NODES) {
        const pings = r.checks.filter((c) => c.node === n && c.id.startsWith("df-ping.0.")).map((c) => c.id);
        assert.deepEqual(
          pings.sort(),
          NODES.filter((o) => o !== n).map((o) => `df-ping.0.${o}`),
          `${n} DF-pings its three peers`,
        );
      }
    });

    it("spark-b2's MTU left at 1500: exactly the six pings to or from it fail, each naming it; doctor FAILs b2's MTU", async () => {
      lab.must("spark-b2", "ip link set dev enp1s0f1np1 mtu 1500");
      try {
        const byPair = await eachPing(steps);
        assert.deepEqual(
          failing(byPair),
          pairsOf(NODES).filter((p) => p.includes("spark-b2")),
          [...byPair].map(([p, e]) => `${p}: ${e || "ok"}`).join("\n"),
        );
        for (const p of failing(byPair)) {
          const [from, to] = p.split("->") as [string, string];
          const addr = plan.nodes.find((n) => n.name === to)?.address as string;
          assert.match(
            byPair.get(p) as string,
            new RegExp(
              `node ${from}: link-verify: no don't-fragment ping of 8972 bytes to ${to} \\(${addr.replace(/\./g, "\\.")}\\) over enp1s0f1np1: check the MTU \\(9000\\) on both ends and on the switch ports, and both nodes' cables to the switch`,
            ),
          );
        }
        // `pulumi up` stops at the first failing ping, and says which.
        const out = await up(
          lab,
          steps.filter((s) => s.step.startsWith("ping-")),
        );
        assert.match(why(out.failed), /spark-b2/);
        const r = await doctor(plan);
        assert.deepEqual(
          notPass(r),
          [
            "FAIL spark-a1:df-ping.0.spark-b2: no answer to a 8972-byte DF ping",
            "FAIL spark-a2:df-ping.0.spark-b2: no answer to a 8972-byte DF ping",
            "FAIL spark-b1:df-ping.0.spark-b2: no answer to a 8972-byte DF ping",
            "FAIL spark-b2:mtu.0: mtu 1500",
            "FAIL spark-b2:df-ping.0.spark-a1: no answer to a 8972-byte DF ping",
            "FAIL spark-b2:df-ping.0.spark-a2: no answer to a 8972-byte DF ping",
            "FAIL spark-b2:df-ping.0.spark-b1: no answer to a 8972-byte DF ping",
          ].sort((a, b) => order(r, a) - order(r, b)),
        );
      } finally {
        lab.must("spark-b2", "ip link set dev enp1s0f1np1 mtu 9000");
      }
    });

    it("spark-a2's switch port down: its port loses carrier, the six pings with it fail, the rest pass", async () => {
      lab.switchPort("spark-a2", 0, "down");
      try {
        assert.equal(lab.must("spark-a2", "ibdev2netdev").trim(), "rocep1s0f1 port 1 ==> enp1s0f1np1 (Down)");
        const byPair = await eachPing(steps);
        assert.deepEqual(
          failing(byPair),
          pairsOf(NODES).filter((p) => p.includes("spark-a2")),
          [...byPair].map(([p, e]) => `${p}: ${e || "ok"}`).join("\n"),
        );
        // Doctor: no carrier on spark-a2, with a fix that points at its cable and switch port.
        const r = await doctor(plan);
        const netdev = r.checks.find((c) => c.node === "spark-a2" && c.id === "netdev.0");
        assert.equal(netdev?.status, "FAIL");
        assert.match(netdev?.fix ?? "", /check spark-a2's QSFP cable to the switch, that its switch port is enabled/);
        assert.deepEqual(
          r.checks
            .filter((c) => c.status !== "PASS" && c.id.startsWith("df-ping."))
            .map((c) => `${c.node}:${c.id}`)
            .sort(),
          [
            "spark-a1:df-ping.0.spark-a2",
            "spark-a2:df-ping.0.spark-a1",
            "spark-a2:df-ping.0.spark-b1",
            "spark-a2:df-ping.0.spark-b2",
            "spark-b1:df-ping.0.spark-a2",
            "spark-b2:df-ping.0.spark-a2",
          ],
        );
      } finally {
        lab.switchPort("spark-a2", 0, "up");
      }
      // Back up: the link steps' checks pass again without touching anything else.
      const again = await eachPing(steps);
      assert.deepEqual(failing(again), []);
    });

    it("delete (the steps' deletes in reverse) leaves all four hosts exactly as before", async () => {
      unseed();
      const out = await destroy(lab, steps, created);
      assert.equal(out.failed, undefined, why(out.failed));
      for (const h of NODES) assert.equal(lab.snapshot(h), baseline[h], `${h} is back to how it was`);
    });
  });

  describe("two TP=2 replicas (serving.replicas: 2)", () => {
    let deployment: DeploymentPlan;
    const steps: RemoteStep[][] = [];
    const created: string[][] = [];

    before(async () => {
      deployment = planDeploymentFromInput(pointAt(lab, stackInput(STACK)), "plan");
      for (const [i, p] of deployment.replicas.entries()) steps.push(await captureSteps(p, `rep${i}`, lab.clientKey));
    });

    it("bring-up of both replicas side by side on the four hosts; each replica DF-pings only its own pair", async () => {
      assert.equal(deployment.replicas.length, 2);
      assert.deepEqual(pingPairs(steps[0] as RemoteStep[]), pairsOf(["spark-a1", "spark-a2"]));
      assert.deepEqual(pingPairs(steps[1] as RemoteStep[]), pairsOf(["spark-b1", "spark-b2"]));
      // The replicas are independent clusters: pulumi up brings them up side by side.
      const outs = await Promise.all(steps.map((s) => up(lab, s)));
      for (const out of outs) {
        created.push(out.ran);
        assert.equal(out.failed, undefined, why(out.failed));
      }
      for (const p of deployment.replicas) assertDataPlane(p);
    });

    it("heads, ranks and endpoints as documented; each head runs the watchdog of its own pair, the workers none", async () => {
      const [a, b] = deployment.replicas as [ClusterPlan, ClusterPlan];
      const layout = (p: ClusterPlan) => p.nodes.map((n) => `${n.name}:${n.role}:${n.rank}:${n.env.MASTER_ADDR}`);
      assert.deepEqual(layout(a), ["spark-a1:head:0:10.0.0.11", "spark-a2:worker:1:10.0.0.11"]);
      assert.deepEqual(layout(b), ["spark-b1:head:0:10.0.0.21", "spark-b2:worker:1:10.0.0.21"]);
      for (const p of [a, b]) {
        assert.equal(p.cluster.tensorParallelSize, 2);
        const w = p.nodes.find((n) => n.role === "worker") as ClusterPlan["nodes"][number];
        const argv = w.serveArgv;
        assert.equal(argv[argv.indexOf("--nnodes") + 1], "2", `${w.name}: --nnodes`);
        assert.equal(argv[argv.indexOf("--node-rank") + 1], "1", `${w.name}: --node-rank`);
      }
      assert.deepEqual(deployment.router?.endpoints, [
        `http://${lab.host("spark-a1").mgmt}:8000/v1`,
        `http://${lab.host("spark-b1").mgmt}:8000/v1`,
      ]);
      // The watchdog (VllmService installs it on each replica's head): one per replica, restarting its own ranks.
      const conn = (h: string): Conn => ({
        host: lab.host(h).mgmt,
        user: "spark",
        privateKey: lab.clientKey,
        hostKey: lab.host(h).hostKey,
      });
      const installed: [ClusterPlan, string][] = [];
      try {
        for (const p of [a, b]) {
          const r = await lab.ssh(conn(p.cluster.head), watchdogStep(p).create, "");
          assert.equal(r.code, 0, r.stderr);
          installed.push([p, p.cluster.head]);
        }
        for (const [p, worker] of [
          [a, "spark-a2"],
          [b, "spark-b2"],
        ] as const) {
          const head = p.cluster.head;
          assert.equal(lab.must(head, `systemctl is-enabled ${p.names.watchdogUnit}.service`).trim(), "enabled");
          assert.match(
            lab.must(head, `cat /etc/systemd/system/${p.names.watchdogUnit}.service`),
            new RegExp(`^Description=.*\\(ranks ${worker}, ${head}\\)$`, "m"),
            `${head}: its watchdog restarts ${worker} then ${head}`,
          );
          assert.notEqual(
            lab.exec(worker, `test -e /etc/systemd/system/${p.names.watchdogUnit}.service`).code,
            0,
            `${worker}: no watchdog`,
          );
          const script = lab.must(head, `cat ${p.watchdog.script}`);
          assert.ok(
            !/spark-(a|b)\d/.test(script.replace(new RegExp(`${head}|${worker}`, "g"), "")),
            "only its own pair",
          );
        }
      } finally {
        for (const [p, head] of installed) {
          const r = await lab.ssh(conn(head), watchdogStep(p).delete);
          assert.equal(r.code, 0, r.stderr);
        }
      }
    });

    it("doctor, one replica at a time (as the CLI runs it): every check PASS on both pairs", async () => {
      for (const p of deployment.replicas) {
        const unseed = seedDeploy(p);
        try {
          const r = await doctor(p);
          assert.deepEqual(notPass(r), [], `replica of ${p.cluster.head}`);
          assert.equal(r.exitCode, 0);
          const peers = r.checks.filter((c) => c.id.startsWith("df-ping.")).map((c) => `${c.node}:${c.id}`);
          assert.equal(peers.length, 2, `two DF pings in the replica of ${p.cluster.head}: ${peers.join(", ")}`);
        } finally {
          unseed();
        }
      }
    });

    it("spark-b1's MTU left at 1500: replica 1's two pings fail naming it, replica 0's still pass", async () => {
      lab.must("spark-b1", "ip link set dev enp1s0f1np1 mtu 1500");
      try {
        assert.deepEqual(failing(await eachPing(steps[0] as RemoteStep[])), []);
        const byPair = await eachPing(steps[1] as RemoteStep[]);
        assert.deepEqual(failing(byPair), ["spark-b1->spark-b2", "spark-b2->spark-b1"]);
        assert.match(
          byPair.get("spark-b1->spark-b2") as string,
          /node spark-b1: link-verify: .* to spark-b2 \(10\.0\.0\.22\)/,
        );
        assert.match(
          byPair.get("spark-b2->spark-b1") as string,
          /node spark-b2: link-verify: .* to spark-b1 \(10\.0\.0\.21\) over enp1s0f1np1: check the MTU \(9000\) on both ends and the cable \(through a switch: both cables and the switch ports' MTU\)/,
        );
      } finally {
        lab.must("spark-b1", "ip link set dev enp1s0f1np1 mtu 9000");
      }
    });

    it("delete of both replicas leaves all four hosts exactly as before", async () => {
      for (let i = steps.length - 1; i >= 0; i--) {
        const out = await destroy(lab, steps[i] as RemoteStep[], created[i] as string[]);
        assert.equal(out.failed, undefined, why(out.failed));
      }
      for (const h of NODES) assert.equal(lab.snapshot(h), baseline[h], `${h} is back to how it was`);
    });
  });
});

/** A check line's position in the report (to compare lists in report order). */
function order(r: DoctorReport, line: string): number {
  return r.checks.findIndex((c) => line.startsWith(`${c.status} ${c.node}:${c.id}:`));
}

/** A shell command in a lab namespace (the switch's). */
function execIn(ns: string, cmd: string): string {
  return execFileSync("ip", ["netns", "exec", ns, "sh", "-c", cmd], { encoding: "utf8" });
}
