import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MANAGED_ENV, MANAGED_FLAGS } from "../../src/config";
import { planFromInput } from "../../src/plan";
import { baseConfig, twinConfig } from "../support/fixtures";

const arg = (argv: readonly string[], flag: string) => argv[argv.indexOf(flag) + 1];

describe("custom profiles", () => {
  it("override one field of a built-in (512k with 16 seqs, as in the recipe's production)", () => {
    const c = baseConfig();
    c.serving.profile = { base: "512k", maxNumSeqs: 16 };
    const plan = planFromInput(c);
    assert.equal(plan.profile.name, "512k-custom");
    assert.deepEqual(plan.profile.overrides, ["maxNumSeqs"]);
    const argv = plan.nodes[0]!.serveArgv;
    assert.equal(arg(argv, "--max-num-seqs"), "16");
    assert.equal(arg(argv, "--max-model-len"), "524288");
    assert.equal(plan.nodes[0]!.env.VLLM_ALLOW_LONG_MAX_MODEL_LEN, "1");
    assert.equal(plan.profile.reference, undefined, "the recipe's figures are not claimed for a changed profile");
  });
  it("a full custom profile gets the long-context env only above 262144 tokens", () => {
    for (const [len, long] of [
      [131072, false],
      [262144, false],
      [262145, true],
    ] as const) {
      const c = baseConfig();
      c.serving.profile = { name: "mine", maxModelLen: len, maxNumSeqs: 8, maxNumBatchedTokens: 4096 };
      const plan = planFromInput(c);
      assert.equal(plan.profile.name, "mine");
      assert.equal(plan.nodes[1]!.env.VLLM_ALLOW_LONG_MAX_MODEL_LEN, long ? "1" : undefined, String(len));
      assert.equal(arg(plan.nodes[1]!.serveArgv, "--max-model-len"), String(len));
    }
  });
  it("every field is overridable (the KV dtype within what the variant and image have: test/plan/variants.test.ts)", () => {
    const c = baseConfig();
    c.serving.profile = {
      base: "256k",
      maxCudagraphCaptureSize: 16,
      blockSize: 64,
      loadFormat: "safetensors",
      numSpeculativeTokens: 3,
      compilationConfig: { cudagraph_mode: "PIECEWISE" },
      enablePrefixCaching: false,
      longContextEnv: true,
    };
    const argv = planFromInput(c).nodes[0]!.serveArgv;
    assert.equal(arg(argv, "--max-cudagraph-capture-size"), "16");
    assert.equal(arg(argv, "--block-size"), "64");
    assert.equal(arg(argv, "--load-format"), "safetensors");
    assert.equal(arg(argv, "--speculative-config"), '{"method":"mtp","num_speculative_tokens":3}');
    assert.equal(arg(argv, "--compilation-config"), '{"cudagraph_mode":"PIECEWISE"}');
    assert.equal(argv.includes("--enable-prefix-caching"), false);
    assert.equal(planFromInput(c).nodes[0]!.env.VLLM_SPARSE_INDEXER_MAX_LOGITS_MB, "256");
  });
  it("MTP can be switched off", () => {
    const c = baseConfig();
    c.serving.mtp = false;
    assert.equal(planFromInput(c).nodes[0]!.serveArgv.includes("--speculative-config"), false);
  });
  it("util, port and served name reach the flags", () => {
    const c = baseConfig();
    Object.assign(c.serving, { gpuMemoryUtilization: 0.82, port: 8100 });
    c.model.servedName = "dsv4";
    const plan = planFromInput(c);
    const argv = plan.nodes[0]!.serveArgv;
    assert.equal(arg(argv, "--gpu-memory-utilization"), "0.82");
    assert.equal(arg(argv, "--port"), "8100");
    assert.equal(arg(argv, "--served-model-name"), "dsv4");
    assert.equal(plan.cluster.endpoint, "http://192.168.1.11:8100/v1");
  });
});

describe("managed flags and env", () => {
  it("every flag and variable the planner emits is listed as managed (so extraArgs/extraEnv cannot shadow it)", () => {
    for (const launcher of ["mp", "ray"]) {
      const c = twinConfig();
      c.serving.launcher = launcher;
      c.serving.pipelineParallelSize = 2;
      c.serving.tensorParallelSize = 1;
      c.link = { gidPolicy: { index: 3 } };
      const plan = planFromInput(c);
      for (const n of plan.nodes) {
        if (n.serveArgv[0] === "vllm")
          for (const a of n.serveArgv.filter((x) => x.startsWith("--")))
            assert.ok(MANAGED_FLAGS.includes(a), `${a} not in MANAGED_FLAGS`);
        for (const k of [...Object.keys(n.env), ...n.secretEnv]) assert.ok(k in MANAGED_ENV, `${k} not in MANAGED_ENV`);
      }
    }
  });
  it("extra args and env are added after the plan's own", () => {
    const c = baseConfig();
    c.serving.extraArgs = ["--enable-chunked-prefill"];
    c.serving.extraEnv = { PYTORCH_CUDA_ALLOC_CONF: "expandable_segments:True" };
    const plan = planFromInput(c);
    assert.equal(plan.nodes[0]!.serveArgv.at(-1), "--enable-chunked-prefill");
    assert.equal(plan.nodes[1]!.env.PYTORCH_CUDA_ALLOC_CONF, "expandable_segments:True");
  });
});
