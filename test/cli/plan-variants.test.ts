/** `plan` on the variant and replica stacks: what a user reads in the summary and in --json. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { main } from "../../src/cli/main";

async function cli(args: string[]) {
  let out = "",
    err = "";
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe("plan --stack 0731-dspark", () => {
  it("says which variant, speculative method, KV dtype and image capabilities it plans, and warns about the moving tag", async () => {
    const r = await cli(["plan", "--stack", "0731-dspark"]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^Variant {4}deepseek-v4-flash-0731: speculative dspark x5, KV fp8 \(11305 B\/token\), backends moe b12x, linear b12x, attention B12X$/m,
    );
    assert.match(r.out, /image has: speculative dspark, KV fp8, kernels b12x \(from preset eugr-spark-vllm-b12x/);
    assert.match(r.out, /image\.digest: is not set: preset eugr-spark-vllm-b12x resolves to the moving tag/);
    assert.match(r.out, /vllm serve deepseek-ai\/DeepSeek-V4-Flash-0731/);
  });
});

describe("plan --stack 2x2-replicas", () => {
  it("lists both replicas' endpoints for a router, then each replica's plan", async () => {
    const r = await cli(["plan", "--stack", "2x2-replicas"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /replica 0: http:\/\/spark-a1\.local:8000\/v1 \(head spark-a1\)/);
    assert.match(r.out, /replica 1: http:\/\/spark-b1\.local:8000\/v1 \(head spark-b1\)/);
    assert.match(r.out, /=== .*replica 0\n/);
    assert.match(r.out, /=== .*replica 1\n/);
  });
  it("--json is the DeploymentPlan: replicas[] and router", async () => {
    const r = await cli(["plan", "--stack", "2x2-replicas", "--json"]);
    assert.equal(r.code, 0, r.err);
    const d = JSON.parse(r.out);
    assert.equal(d.replicas.length, 2);
    assert.deepEqual(
      d.replicas.map((p: { cluster: { head: string } }) => p.cluster.head),
      ["spark-a1", "spark-b1"],
    );
    assert.equal(d.router.endpoints.length, 2);
  });
});
