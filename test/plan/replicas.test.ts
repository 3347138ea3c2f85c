/**
 * More than two Sparks: four nodes on one switch subnet plan as one TP=4 cluster, or as two
 * replicas of TP=2 (serving.replicas: 2, nodes[].replica), each an independent cluster with its
 * own head and endpoint; malformed replica layouts are refused with their paths.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadClusterConfig, readStackFile } from "../../src/config";
import { planCluster, planDeploymentFromInput, planFromInput } from "../../src/plan";
import { baseConfig } from "../support/fixtures";
import { ROOT } from "../support/rendered";

const stack = () => readStackFile(join(ROOT, "stacks", "Pulumi.2x2-replicas.yaml")) as Record<string, any>;

function problems(c: unknown): readonly { path: string; message: string }[] {
  try {
    planDeploymentFromInput(c);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  assert.fail("expected the config to be refused");
}

describe("four Sparks on a switch", () => {
  it("without replicas they plan one TP=4 cluster: one head, every pair DF-pinged over the /24", () => {
    const c = stack();
    c.serving = { profile: "256k" };
    for (const n of c.nodes) delete n.replica;
    c.nodes[2].role = "worker";
    const plan = planFromInput(c);
    assert.equal(plan.cluster.tensorParallelSize, 4);
    assert.deepEqual(plan.cluster.startOrder, ["spark-a2", "spark-b1", "spark-b2", "spark-a1"]);
    assert.equal(plan.link.checks.length, 12, "4 x 3 directed pairs");
    assert.equal(plan.link.twins[0]!.subnet, "10.0.0.0/24");
    assert.equal(plan.nodes.find((n) => n.name === "spark-b2")!.env.MASTER_ADDR, "10.0.0.11");
  });
  it("with serving.replicas: 2 they plan two independent TP=2 clusters with their own endpoints", () => {
    const d = planDeploymentFromInput(stack());
    assert.equal(d.replicas.length, 2);
    const [a, b] = d.replicas;
    assert.deepEqual(
      a!.nodes.map((n) => n.name),
      ["spark-a1", "spark-a2"],
    );
    assert.deepEqual(
      b!.nodes.map((n) => n.name),
      ["spark-b1", "spark-b2"],
    );
    assert.equal(a!.cluster.tensorParallelSize, 2);
    assert.equal(b!.nodes.find((n) => n.name === "spark-b2")!.env.MASTER_ADDR, "10.0.0.21");
    assert.equal(arg(b!.nodes[1]!.serveArgv, "--nnodes"), "2");
    assert.equal(b!.link.checks.length, 2, "link checks stay inside a replica");
    assert.deepEqual(d.router?.endpoints, ["http://spark-a1.local:8000/v1", "http://spark-b1.local:8000/v1"]);
    assert.match(d.router!.note, /router in front/);
  });
  it("a failed DF ping names the switch when there is one: four nodes say so, a /24 pair hedges, a /30 pair says the cable", () => {
    const tail = (script: string) =>
      /check ([^']*)/.exec(script.replace(/'\\''/g, "’"))?.[1]?.replace(/’/g, "'") ?? script;
    const c = stack();
    c.serving = { profile: "256k" };
    for (const n of c.nodes) delete n.replica;
    c.nodes[2].role = "worker";
    const four = planFromInput(c).link.checks;
    assert.ok(four.every((k) => tail(k.script) === tail(four[0]!.script)));
    assert.equal(
      tail(four[0]!.script),
      "the MTU (9000) on both ends and on the switch ports, and both nodes' cables to the switch",
    );
    const pair = planDeploymentFromInput(stack()).replicas[0]!.link.checks[0]!;
    assert.equal(
      tail(pair.script),
      "the MTU (9000) on both ends and the cable (through a switch: both cables and the switch ports' MTU)",
    );
    const back = planFromInput(baseConfig()).link.checks[0]!;
    assert.equal(tail(back.script), "the MTU (9000) on both ends and the cable");
  });
  it("planCluster refuses a multi-replica config and points at planDeployment", () => {
    const { config } = loadClusterConfig(stack(), "plan");
    assert.throws(
      () => planCluster(config),
      (e: unknown) => e instanceof ConfigError && /planDeployment/.test(e.problems[0]!.message),
    );
  });
});

const arg = (argv: readonly string[], flag: string) => argv[argv.indexOf(flag) + 1];

describe("replica layouts that cannot work are refused with their paths", () => {
  it("a replica index at or above serving.replicas", () => {
    const c = stack();
    c.nodes[3].replica = 2;
    assert.ok(problems(c).some((p) => p.path === "nodes[3].replica" && /use 0 to 1/.test(p.message)));
  });
  it("a replica with two heads, or none", () => {
    const c = stack();
    c.nodes[1].role = "head";
    c.nodes[2].role = "worker";
    const p = problems(c);
    assert.ok(p.some((x) => x.path === "nodes" && /replica 0 has 2 heads \(spark-a1, spark-a2\)/.test(x.message)));
    assert.ok(p.some((x) => x.path === "nodes" && /replica 1 has 0 heads/.test(x.message)));
  });
  it("replicas of unequal size", () => {
    const c = stack();
    c.nodes[2].replica = 0;
    c.nodes[2].role = "worker";
    c.nodes[3].role = "head";
    const p = problems(c);
    assert.ok(
      p.some((x) => /replica 0 has 3 node\(s\).*2 each/.test(x.message)),
      JSON.stringify(p),
    );
  });
  it("TP x PP x replicas must equal the node count", () => {
    const c = stack();
    c.serving.tensorParallelSize = 4;
    assert.ok(
      problems(c).some(
        (x) => x.path === "serving.tensorParallelSize" && /4 x 1 x 2 = 8, but there are 4 nodes/.test(x.message),
      ),
    );
  });
});
