/**
 * The plan's port table (src/plan/exposure.ts) says what the rest of the plan does: the engine's
 * bind is its argv's, each node lists a port once, and the router's rows are the same whether read
 * from its own plan (its argv) or from the replica that holds its node.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readStackFile } from "../../src/config";
import { planDeploymentFromInput } from "../../src/plan";
import { deploymentExposure } from "../../src/plan/replicas";
import { ROOT } from "../support/rendered";

const KEY = "plan-exposure-key-3c8e1f5a9b2d7046";

function deployment(edit: (c: Record<string, any>) => void = () => undefined) {
  const c = readStackFile(join(ROOT, "stacks", "Pulumi.2x2-replicas.yaml")) as Record<string, any>;
  c.serving.apiKey = KEY;
  c.nodes.forEach((n: Record<string, any>, i: number) => (n.ssh.host = `192.168.7.${10 + i}`));
  edit(c);
  return planDeploymentFromInput(c);
}

describe("the plan's port table", () => {
  it("lists each numbered port once per node, and the engine bound as its argv says", () => {
    const d = deployment((c) => (c.observability = { enabled: true }));
    const rows = deploymentExposure(d);
    const seen = new Set<string>();
    for (const r of rows.filter((x) => typeof x.port === "number")) {
      const k = `${r.node}:${r.port}`;
      assert.ok(!seen.has(k), `${k} listed twice`);
      seen.add(k);
    }
    for (const p of d.replicas) {
      const head = p.nodes.find((n) => n.role === "head")!;
      const api = p.exposure.find((r) => r.node === head.name && r.port === p.cluster.port)!;
      assert.equal(api.bind, head.serveArgv[head.serveArgv.indexOf("--host") + 1]);
      // The exporter binds the node's management address, which is an address here.
      for (const n of p.nodes)
        assert.equal(p.exposure.find((r) => r.node === n.name && r.port === 9100)?.bind, n.ssh.host);
    }
  });

  it("the router's rows: the same from its argv and in the replica of its node; metrics on the management address", () => {
    const d = deployment((c) => (c.serving.router = { enabled: true }));
    const s = d.router!.service!;
    const own = d.router!.exposure!;
    const inReplica = deploymentExposure(d).filter(
      (r) => r.node === s.node && (r.port === s.port || r.port === s.metricsPort),
    );
    assert.deepEqual(inReplica, own);
    assert.equal(own.find((r) => r.port === s.metricsPort)?.bind, s.host);
    assert.equal(s.argv[s.argv.indexOf("--prometheus-host") + 1], s.host);
    assert.equal(own.find((r) => r.port === s.port)?.bind, "0.0.0.0");
  });

  it("without a key the engine's and router's guard says so", () => {
    const d = deployment((c) => {
      delete c.serving.apiKey;
      c.serving.allowUnauthenticated = true;
      c.serving.router = { enabled: true };
    });
    const guards = deploymentExposure(d)
      .filter((r) => r.port === 8000 || r.port === 8080)
      .map((r) => r.guard);
    assert.ok(guards.length >= 3);
    for (const g of guards) assert.match(g, /^none: serving\.allowUnauthenticated/);
  });
});
