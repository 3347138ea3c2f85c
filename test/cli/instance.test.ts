/** doctor and repair read a cluster deployed with an instance name (`--instance`): its containers, units and steps. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readClusterPlan } from "../../src/cli/args";
import { main } from "../../src/cli/main";
import { ConfigError } from "../../src/config/errors";

async function cli(args: string[]) {
  let out = "",
    err = "";
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe("--instance", () => {
  it("plans with the instance's names; without it the plain names", () => {
    const blue = readClusterPlan({ stack: "1m", instance: "blue" }).plan;
    assert.equal(blue.nodes[0]?.container.name, `dgx-spark-vllm-blue-${blue.nodes[0]?.name}`);
    assert.equal(blue.names.linkUnit, "dgx-spark-vllm-blue-link");
    assert.match(
      blue.nodes[0]?.linkSteps.find((s) => s.id === "link-boot")?.create ?? "",
      /systemctl enable dgx-spark-vllm-blue-link\.service/,
    );
    const plain = readClusterPlan({ stack: "1m" }).plan;
    assert.equal(plain.names.linkUnit, "dgx-spark-vllm-link");
  });
  it("a name that cannot name containers and units is a config error naming the problem", () => {
    assert.throws(
      () => readClusterPlan({ stack: "1m", instance: "Blue!" }),
      (e: unknown) =>
        e instanceof ConfigError && /instance name 'Blue!' cannot name containers, units and files/.test(e.message),
    );
  });
  it("doctor and repair list it in their help", async () => {
    for (const cmd of ["doctor", "repair"]) {
      const r = await cli([cmd, "--help"]);
      assert.equal(r.code, 0);
      assert.match(r.out + r.err, /--instance NAME {5}the cluster's instance name/);
    }
  });
});
