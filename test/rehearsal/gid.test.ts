/**
 * `link.gidPolicy: resolve` on the simulated Sparks: the resolver the plan puts in front of the
 * engine's container command, run as rendered against each host's GID table (sim/gidd): the
 * RoCEv2 index as the link leaves it, an entry that moved, and a missing one (fail closed).
 */
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import type { ClusterPlan, NodePlan } from "../../src/plan/types";
import { shellJoin } from "../../src/shell/quote";
import { HEAD, hostSpecs, rehearsalConfig, rehearsalPlan, WORKER } from "./cluster";
import { labUnavailable, SimLab } from "./lab";
import { captureSteps, describe as why, up } from "./runner";

const unavailable = labUnavailable();
const skip = unavailable && process.env.CI !== "true" ? `simulated hosts: ${unavailable}` : false;
const GIDS = "/var/lib/dsv-sim";

describe("gidPolicy resolve: the container's GID resolver against the simulated GID table", { skip }, () => {
  let lab: SimLab;
  let plan: ClusterPlan;

  before(async () => {
    lab = await SimLab.start(hostSpecs());
    const config = rehearsalConfig(lab);
    plan = rehearsalPlan({ ...config, link: { ...config.link, gidPolicy: "resolve" } });
    // Only the link: the data-plane address on both nodes (sim/gidd lists its GIDs).
    const steps = (await captureSteps(plan, "g", lab.clientKey)).filter((s) => s.step === "link-address");
    assert.equal(steps.length, 2);
    const out = await up(lab, steps);
    assert.equal(out.failed, undefined, why(out.failed));
  });
  after(() => lab?.stop());

  /**
   * The node's container command as rendered, with the engine (what the resolver execs) swapped
   * for a command that prints the index it was given; run as the login user on the host.
   */
  async function resolve(name: string): Promise<{ code: number; out: string; err: string }> {
    const n = plan.nodes.find((x) => x.name === name) as NodePlan;
    // With secrets the command starts with the secrets file's wrapper, which execs the resolver.
    const cmd = n.container.command;
    const at = cmd.indexOf("dgx-spark-vllm-gid");
    assert.ok(at >= 3, `no GID resolver in ${JSON.stringify(cmd.slice(0, 6))}`);
    const resolver = cmd.slice(at - 3, at + 1);
    assert.deepEqual(resolver.slice(0, 2), ["bash", "-c"]);
    assert.equal(cmd[at + 1], "vllm", "the resolver execs the engine");
    const probe = [...resolver, "sh", "-c", 'echo "NCCL_IB_GID_INDEX=$NCCL_IB_GID_INDEX"'];
    const h = lab.host(name);
    const conn = { host: h.mgmt, user: "spark", privateKey: lab.clientKey, hostKey: h.hostKey };
    const r = await lab.ssh(conn, shellJoin(probe));
    return { code: r.code, out: r.stdout.trim(), err: r.stderr.trim() };
  }

  it("as the link leaves it: each node gets the index of its RoCEv2 entry (3, not the RoCE v1 one at 2)", async () => {
    for (const name of [HEAD, WORKER]) {
      const p = plan.nodes.find((x) => x.name === name)!.dataPlane[0]!;
      assert.equal(lab.rocev2GidIndex(name, p.hca, p.address), 3);
      const r = await resolve(name);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, "NCCL_IB_GID_INDEX=3");
    }
  });

  it("the entry moved (3 -> 5 on the worker): the resolver follows it", async () => {
    lab.must(WORKER, `echo 1 > ${GIDS}/gid-shift; sleep 0.8`);
    try {
      const p = plan.nodes.find((x) => x.name === WORKER)!.dataPlane[0]!;
      assert.equal(lab.rocev2GidIndex(WORKER, p.hca, p.address), 5);
      const w = await resolve(WORKER);
      assert.equal(w.code, 0, w.err);
      assert.equal(w.out, "NCCL_IB_GID_INDEX=5");
      assert.equal((await resolve(HEAD)).out, "NCCL_IB_GID_INDEX=3", "the head's table did not move");
    } finally {
      lab.must(WORKER, `rm -f ${GIDS}/gid-shift; sleep 0.8`);
    }
  });

  it("no RoCEv2 entry (the post-reboot quirk): it fails closed, says why, and the engine never starts", async () => {
    lab.must(WORKER, `echo 10.0.0.2 > ${GIDS}/gid-suppressed; sleep 0.8`);
    try {
      const r = await resolve(WORKER);
      assert.equal(r.code, 1);
      assert.equal(r.out, "", "the engine command did not run");
      assert.match(r.err, /no RoCEv2 GID for 10\.0\.0\.2 on rocep1s0f1: run the link recovery/);
    } finally {
      lab.must(WORKER, `: > ${GIDS}/gid-suppressed; sleep 0.8`);
    }
    assert.equal((await resolve(WORKER)).out, "NCCL_IB_GID_INDEX=3");
  });
});
