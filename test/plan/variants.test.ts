/**
 * Model variants as data: the official 0731 two-Spark configuration comes out of the stack as
 * published; a config asking for what the checkpoint or the image lacks is refused with a sentence
 * naming its path; the memory planner sizes the KV pool per variant and KV dtype; image presets
 * pin by digest or warn.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, readStackFile } from "../../src/config";
import { MODEL_VARIANTS } from "../../src/models";
import { planFromInput } from "../../src/plan";
import { ROOT } from "../support/rendered";
import { baseConfig } from "../support/fixtures";
import { join } from "node:path";

const arg = (argv: readonly string[], flag: string) => {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
};

/** The problems planning `c` reports (fails the test when it plans). */
function problems(c: unknown): readonly { path: string; message: string }[] {
  try {
    planFromInput(c);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  assert.fail("expected the config to be refused");
}

/**
 * NVIDIA/local-ai-inference-recipes models/deepseek/deepseek-v4-flash-0731/dgx-spark-2gpu/linux/
 * vllm/fp4-fp8-mixed/recipe.yaml, as published (validated 2026-08-31): the exports before
 * `vllm serve` and its flags (node-specific values aside).
 */
const OFFICIAL_0731_ENV: Record<string, string> = {
  PYTORCH_CUDA_ALLOC_CONF: "expandable_segments:True",
  CUTE_DSL_ARCH: "sm_121a",
  VLLM_USE_AOT_COMPILE: "1",
  VLLM_USE_BREAKABLE_CUDAGRAPH: "0",
  VLLM_MEMORY_PROFILE_INCLUDE_ATTN: "1",
  VLLM_USE_FLASHINFER_SAMPLER: "1",
  VLLM_USE_B12X_WO_PROJECTION: "1",
  VLLM_USE_B12X_MHC: "1",
  VLLM_USE_B12X_FP8_GEMM: "1",
  VLLM_USE_B12X_MOE: "1",
  VLLM_USE_B12X_SPARSE_INDEXER: "1",
  VLLM_USE_V2_MODEL_RUNNER: "1",
  B12X_MLA_SM120_UNIFIED: "1",
  B12X_MOE_FORCE_A8: "1",
  VLLM_MOE_SKIP_PADDING: "0",
};
/** Flag -> value (null: a switch). */
const OFFICIAL_0731_FLAGS: [string, string | null][] = [
  ["--host", "0.0.0.0"],
  ["--port", "8000"],
  ["--trust-remote-code", null],
  ["--tensor-parallel-size", "2"],
  ["--kv-cache-dtype", "fp8"],
  ["--block-size", "256"],
  ["--max-model-len", "auto"],
  ["--max-num-seqs", "8"],
  ["--max-num-batched-tokens", "8192"],
  ["--gpu-memory-utilization", "0.85"],
  ["--enable-prefix-caching", null],
  ["--tokenizer-mode", "deepseek_v4"],
  ["--tool-call-parser", "deepseek_v4"],
  ["--enable-auto-tool-choice", null],
  ["--reasoning-parser", "deepseek_v4"],
  ["--reasoning-config", '{"reasoning_parser":"deepseek_v4","reasoning_start_str":"","reasoning_end_str":""}'],
  ["--default-chat-template-kwargs.thinking=true", null],
  ["--default-chat-template-kwargs.reasoning_effort=high", null],
  ["--load-format", "instanttensor"],
  ["--moe-backend", "b12x"],
  ["--linear-backend", "b12x"],
  ["--attention-backend", "B12X"],
  ["--max-cudagraph-capture-size", "48"],
  ["--compilation-config", '{"cudagraph_mode":"FULL_AND_PIECEWISE","custom_ops":["all"]}'],
  [
    "--speculative-config",
    '{"method":"dspark","num_speculative_tokens":5,"draft_sample_method":"probabilistic","attention_backend":"B12X"}',
  ],
  ["--nnodes", "2"],
  ["--master-port", "29501"],
];
/**
 * Where the stack knowingly differs from the published command (docs/configuration.md, "The
 * official 0731 configuration"): a pinned max-model-len instead of `auto`, so readiness, doctor and
 * the gate can check what is served; with it above 262,144 the long-context env, as MiaAI-Lab runs
 * 0731 at 1,048,576.
 */
const DEVIATIONS: Record<string, string> = { "--max-model-len": "1048576" };
/** What the plan adds on top of the recipe: the served name, and env from the link, the UCX fix, long context. */
const OUR_EXTRA_FLAGS = ["--served-model-name", "--node-rank", "--master-addr", "--headless"];

describe("the official 0731 two-Spark configuration (stacks/Pulumi.0731-dspark.yaml)", () => {
  const plan = planFromInput(readStackFile(join(ROOT, "stacks", "Pulumi.0731-dspark.yaml")), "plan");
  for (const node of plan.nodes) {
    it(`${node.name}: every published flag is in the argv with the published value`, () => {
      const argv = node.serveArgv;
      assert.deepEqual(argv.slice(0, 3), ["vllm", "serve", "deepseek-ai/DeepSeek-V4-Flash-0731"]);
      for (const [flag, value] of OFFICIAL_0731_FLAGS) {
        assert.ok(argv.includes(flag), `${flag} missing`);
        if (value !== null) assert.equal(arg(argv, flag), DEVIATIONS[flag] ?? value, flag);
      }
      assert.equal(arg(argv, "--node-rank"), String(node.rank));
      assert.equal(argv.includes("--headless"), node.rank > 0);
      const published = new Set(OFFICIAL_0731_FLAGS.map(([f]) => f));
      const extra = argv.filter((a) => a.startsWith("--") && !published.has(a));
      assert.deepEqual(
        extra.filter((a) => !OUR_EXTRA_FLAGS.includes(a)),
        [],
        "no flag beyond the published ones and the plan's own",
      );
    });
    it(`${node.name}: every published variable is in the env with the published value`, () => {
      for (const [k, v] of Object.entries(OFFICIAL_0731_ENV)) assert.equal(node.env[k], v, k);
      // Both twin HCAs, as the recipe's NCCL_IB_HCA.
      assert.equal(node.env.NCCL_IB_HCA, "rocep1s0f1,roceP2p1s0f1");
      // Ours on top: the UCX leak fix, and none of the original Flash's recipe env.
      assert.equal(node.env.UCX_MEM_MMAP_HOOK_MODE, "none");
      assert.equal(node.env.VLLM_TRITON_MLA_SPARSE, undefined);
    });
  }
  it("runs the b12x preset, warns that its tag moves, and says what the image has", () => {
    assert.equal(plan.image.tag, "eugr/spark-vllm-b12x:latest");
    assert.ok(plan.warnings.some((w) => w.path === "image.digest" && /moving tag/.test(w.message)));
    assert.deepEqual(plan.variant.image.capabilities?.backends, ["b12x"]);
    assert.equal(plan.variant.speculative.method, "dspark");
    assert.equal(plan.cluster.mtp, false);
  });
  it("its memory is modelled for 0731 at util 0.85, not copied: the plan warns of ~1.4 GiB free", () => {
    const n = plan.memory.nodes[0]!;
    assert.ok(n.kvPoolTokens >= 1048576, `${n.kvPoolTokens} tokens hold one full request`);
    assert.ok(n.headroomGiB > 1 && n.headroomGiB < 2, `${n.headroomGiB} GiB free`);
    assert.ok(plan.warnings.some((w) => /predicted free while serving/.test(w.message)));
  });
  it("its trade-off names the published numbers and their source, and claims nothing measured here", () => {
    assert.match(plan.profile.tradeoff, /40\.65 tok\/s/);
    assert.match(plan.profile.tradeoff, /performance\.yaml/);
    assert.match(plan.profile.tradeoff, /not measured here/);
  });
});

function config0731(): Record<string, any> {
  const c = baseConfig();
  c.model.variant = "deepseek-v4-flash-0731";
  c.image = { source: "preset", name: "eugr-spark-vllm-b12x" };
  return c;
}

describe("speculative decoding per variant", () => {
  it("MTP on 0731 is refused with a sentence naming serving.speculative.method", () => {
    const c = config0731();
    c.serving.speculative = { method: "mtp" };
    const p = problems(c);
    const m = p.find((x) => x.path === "serving.speculative.method");
    assert.ok(m, JSON.stringify(p));
    assert.match(m.message, /DeepSeek-V4-Flash-0731.*has no MTP heads.*dspark.*or off/);
  });
  it("the legacy serving.mtp: true on 0731 is refused the same way, at serving.mtp", () => {
    const c = config0731();
    c.serving.mtp = true;
    assert.ok(problems(c).some((x) => x.path === "serving.mtp" && /no MTP heads/.test(x.message)));
  });
  it("DSpark on the original Flash is refused (it has MTP heads, no DSpark head)", () => {
    const c = baseConfig();
    c.serving.speculative = { method: "dspark" };
    assert.ok(problems(c).some((x) => x.path === "serving.speculative.method" && /supports only mtp/.test(x.message)));
  });
  it("defaults come from the variant: MTP x2 for the original, DSpark x5 for 0731", () => {
    assert.equal(
      arg(planFromInput(baseConfig()).nodes[0]!.serveArgv, "--speculative-config"),
      '{"method":"mtp","num_speculative_tokens":2}',
    );
    assert.equal(
      arg(planFromInput(config0731()).nodes[0]!.serveArgv, "--speculative-config"),
      '{"method":"dspark","num_speculative_tokens":5,"draft_sample_method":"probabilistic","attention_backend":"B12X"}',
    );
  });
  it("tokens and knobs are rendered; off drops the flag", () => {
    const c = config0731();
    c.serving.speculative = { method: "dspark", tokens: 7, draftSampleMethod: "greedy" };
    const spec = JSON.parse(arg(planFromInput(c).nodes[0]!.serveArgv, "--speculative-config")!);
    assert.deepEqual(spec, {
      method: "dspark",
      num_speculative_tokens: 7,
      draft_sample_method: "greedy",
      attention_backend: "B12X",
    });
    c.serving.speculative = { method: "off" };
    assert.equal(planFromInput(c).nodes[0]!.serveArgv.includes("--speculative-config"), false);
  });
  it("serving.mtp together with serving.speculative is refused", () => {
    const c = baseConfig();
    c.serving.mtp = true;
    c.serving.speculative = { method: "mtp", tokens: 3 };
    assert.ok(problems(c).some((x) => x.path === "serving.mtp" && /together with serving.speculative/.test(x.message)));
  });
});

describe("images: presets, capabilities, pinning", () => {
  it("0731 on the recipe's source build is refused: no DSpark, no b12x kernels", () => {
    const c = config0731();
    delete c.image;
    const p = problems(c);
    assert.ok(p.some((x) => x.path === "image.source" && /no dspark speculative decoding/.test(x.message)));
    assert.ok(
      p.some(
        (x) => x.path === "image.source" && /no b12x kernels.*preset with name eugr-spark-vllm-b12x/.test(x.message),
      ),
      JSON.stringify(p),
    );
  });
  it("0731 on the original-Flash preset is refused at image.name", () => {
    const c = config0731();
    c.image = { source: "preset", name: "eugr-spark-vllm" };
    assert.ok(problems(c).some((x) => x.path === "image.name" && /no b12x kernels/.test(x.message)));
  });
  it("a digest pins the preset (repository@sha256) and silences the moving-tag warning", () => {
    const c = config0731();
    const digest = `sha256:${"ab".repeat(32)}`;
    c.image.digest = digest;
    const plan = planFromInput(c);
    assert.equal(plan.image.tag, `eugr/spark-vllm-b12x@${digest}`);
    assert.equal(plan.nodes[0]!.container.image, `eugr/spark-vllm-b12x@${digest}`);
    assert.equal(
      plan.warnings.some((w) => w.path === "image.digest"),
      false,
    );
    c.image.digest = "sha256:abc";
    assert.ok(problems(c).some((x) => x.path === "image.digest"));
  });
  it("the original Flash runs on the eugr/spark-vllm preset with MTP", () => {
    const c = baseConfig();
    c.image = { source: "preset", name: "eugr-spark-vllm" };
    const plan = planFromInput(c);
    assert.equal(plan.image.tag, "eugr/spark-vllm:latest");
    assert.equal(plan.variant.speculative.method, "mtp");
  });
  it("a prebuilt image without declared capabilities is not checked, and the plan says so", () => {
    const c = config0731();
    c.image = { source: "prebuilt", ref: "registry.example/dspark:1" };
    const plan = planFromInput(c);
    assert.ok(plan.notes.some((n) => n.path === "image.capabilities"));
  });
});

describe("KV cache dtypes and the memory planner per variant", () => {
  it("a dtype the variant has no geometry for is refused, naming the choices", () => {
    const c = baseConfig();
    c.serving.profile = { base: "1m", kvCacheDtype: "auto" };
    const p = problems(c);
    assert.ok(p.some((x) => x.path === "serving.profile.kvCacheDtype" && /use one of fp8/.test(x.message)));
  });
  it("NVFP4 KV on 0731 is refused on an image without it, and plans on one that declares it", () => {
    const c = config0731();
    c.serving.profile = { base: "1m", kvCacheDtype: "nvfp4_ds_mla" };
    assert.ok(
      problems(c).some(
        (x) =>
          x.path === "serving.profile.kvCacheDtype" && /preset eugr-spark-vllm-b12x does not serve/.test(x.message),
      ),
    );
    c.image = {
      source: "prebuilt",
      ref: `ghcr.io/anemll/dspark-vllm-gx10@sha256:${"a8".repeat(32)}`,
      capabilities: { speculative: ["dspark"], kvCacheDtypes: ["fp8", "nvfp4_ds_mla"], backends: ["b12x"] },
    };
    const plan = planFromInput(c);
    assert.equal(arg(plan.nodes[0]!.serveArgv, "--kv-cache-dtype"), "nvfp4_ds_mla");
    assert.equal(
      plan.variant.kvBytesPerToken,
      MODEL_VARIANTS["deepseek-v4-flash-0731"].kvCacheDtypes.nvfp4_ds_mla!.bytesPerToken,
    );
  });
  it("the KV pool in tokens follows the variant's bytes per token for the dtype", () => {
    const fp8 = planFromInput(config0731()).memory.nodes[0]!;
    const c = config0731();
    c.image = {
      source: "prebuilt",
      ref: "registry.example/dspark:1",
      capabilities: { speculative: ["dspark"], kvCacheDtypes: ["nvfp4_ds_mla"], backends: ["b12x"] },
    };
    c.serving.profile = { base: "1m", kvCacheDtype: "nvfp4_ds_mla" };
    const nv = planFromInput(c).memory.nodes[0]!;
    assert.equal(nv.kvPoolGiB, fp8.kvPoolGiB, "same budget, weights and overhead");
    assert.equal(fp8.kvBytesPerTokenPerRank, 11305);
    assert.equal(nv.kvBytesPerTokenPerRank, 7786);
    assert.ok(nv.kvPoolTokens > fp8.kvPoolTokens * 1.4, `${nv.kvPoolTokens} vs ${fp8.kvPoolTokens}`);
  });
  it("the fastest public long-context configuration (MiaAI-Lab, NVFP4 KV on a community image) is expressible, and its boot log checks the 0731 geometry", () => {
    // MiaAI-Lab/DeepSeek-v4-Flash-DSpark-2x-DGX-Spark: .env.dspark.example (image pin, 1048576 x 6,
    // 8216 batched tokens, capture 32, DSpark 5, nvfp4_ds_mla) and results/RESULTS-2026-08-14.md
    // ("Live boot evidence": util 0.835 -> "Available KV cache memory: 18.08 GiB", 2,493,464 tokens).
    const c = baseConfig();
    c.model.variant = "deepseek-v4-flash-0731";
    c.image = {
      source: "prebuilt",
      ref: "ghcr.io/anemll/dspark-vllm-gx10@sha256:a83948492cf13df455170fb42885f5ef4db54fefe0feff0f841ecbff464ac9d8",
      capabilities: { speculative: ["dspark"], kvCacheDtypes: ["fp8", "nvfp4_ds_mla"], backends: ["b12x"] },
    };
    c.serving = {
      ...c.serving,
      gpuMemoryUtilization: 0.835,
      acknowledgeHighUtilization: false,
      profile: {
        base: "1m",
        name: "miaai-nvfp4-1m",
        maxModelLen: 1048576,
        maxNumSeqs: 6,
        maxNumBatchedTokens: 8216,
        maxCudagraphCaptureSize: 32,
        kvCacheDtype: "nvfp4_ds_mla",
      },
      speculative: { method: "dspark", tokens: 5, draftSampleMethod: "default", attentionBackend: "default" },
      backends: { moe: "flashinfer_b12x", linear: "default", attention: "default" },
    };
    const plan = planFromInput(c);
    const argv = plan.nodes[0]!.serveArgv;
    assert.equal(arg(argv, "--kv-cache-dtype"), "nvfp4_ds_mla");
    assert.equal(arg(argv, "--moe-backend"), "flashinfer_b12x");
    assert.equal(argv.includes("--linear-backend"), false);
    assert.equal(arg(argv, "--max-model-len"), "1048576");
    assert.equal(arg(argv, "--speculative-config"), '{"method":"dspark","num_speculative_tokens":5}');
    const n = plan.memory.nodes[0]!;
    assert.ok(Math.abs(n.kvPoolGiB - 18.08) <= plan.memory.marginGiB, `predicted ${n.kvPoolGiB} GiB vs 18.08 logged`);
    assert.ok(
      Math.abs(n.kvPoolTokens - 2493464) / 2493464 < 0.05,
      `predicted ${n.kvPoolTokens} tokens vs 2,493,464 logged`,
    );
  });
  it("extraEnv may not shadow the 0731 recipe's environment", () => {
    const c = config0731();
    c.serving.extraEnv = { VLLM_USE_V2_MODEL_RUNNER: "0" };
    assert.ok(problems(c).some((x) => x.path === "serving.extraEnv.VLLM_USE_V2_MODEL_RUNNER"));
  });
});
