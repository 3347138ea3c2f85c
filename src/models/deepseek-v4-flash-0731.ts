/**
 * DeepSeek-V4-Flash-0731, as NVIDIA's official two-Spark recipe serves it. Data only.
 *
 * Source of the flags, environment and speculative default: NVIDIA/local-ai-inference-recipes
 * `models/deepseek/deepseek-v4-flash-0731/dgx-spark-2gpu/linux/vllm/fp4-fp8-mixed/recipe.yaml`
 * (validated 2026-08-31; "The source requires the custom B12x container image"). The checkpoint
 * has no MTP heads (`mtp: null` there); it bundles a DSpark draft head, served with
 * `{"method":"dspark","num_speculative_tokens":5,...}`.
 *
 * Geometry: no public source gives the 0731 weight size in bytes or its KV bytes per token at
 * fp8. What is assumed, and why:
 * - weights 149 GB, as the original: with it and the original's calibrated overhead, the planner
 *   predicts ~17.7 GiB of KV per rank for MiaAI-Lab's 0731 boot at util 0.835 (6 seqs, capture
 *   32), which logged "Available KV cache memory: 18.08 GiB" (MiaAI-Lab/DeepSeek-v4-Flash-DSpark-
 *   2x-DGX-Spark results/RESULTS-2026-08-14.md, "Live boot evidence"); a checkpoint ~10 GB larger
 *   (304B vs 284B parameters at ~0.5 B each) would have left ~5 GiB less.
 * - fp8 KV 11,305 B/token, as the original (the same attention geometry; the draft head's own KV
 *   is not public and sits inside the planner's margin).
 * - nvfp4_ds_mla KV 7,786 B/token: derived from the same boot log, 18.08 GiB / 2,493,464 tokens.
 */
import type { ModelSpec } from "./deepseek-v4-flash";

const OFFICIAL_0731 =
  "NVIDIA/local-ai-inference-recipes models/deepseek/deepseek-v4-flash-0731/dgx-spark-2gpu/linux/vllm/fp4-fp8-mixed/recipe.yaml";
const MIAAI_BOOT =
  "MiaAI-Lab/DeepSeek-v4-Flash-DSpark-2x-DGX-Spark results/RESULTS-2026-08-14.md (live boot: 18.08 GiB KV, 2,493,464 tokens at util 0.835)";

export const deepseekV4Flash0731: ModelSpec = {
  variant: "deepseek-v4-flash-0731",
  id: "deepseek-ai/DeepSeek-V4-Flash-0731",
  servedName: "deepseek-v4",
  gated: true,
  weightsOnDiskGb: 149,
  modelFlags: [
    "--trust-remote-code",
    "--tokenizer-mode",
    "deepseek_v4",
    "--tool-call-parser",
    "deepseek_v4",
    "--enable-auto-tool-choice",
    "--reasoning-parser",
    "deepseek_v4",
    "--reasoning-config",
    JSON.stringify({ reasoning_parser: "deepseek_v4", reasoning_start_str: "", reasoning_end_str: "" }),
    "--default-chat-template-kwargs.thinking=true",
    "--default-chat-template-kwargs.reasoning_effort=high",
  ],
  env: {
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
  },
  memory: {
    weightsTotalGb: 149,
    kvBytesPerToken: 11305,
    kvShardedByTp: false,
    overheadGiB: { base: 9.743, perSeq: 0.4387, perCaptureSize: 0.06816 },
  },
  kvCacheDtypes: {
    fp8: { bytesPerToken: 11305, source: "assumed as the original (RECIPE.md, 11.04 GiB per 1,048,576 tokens)" },
    nvfp4_ds_mla: { bytesPerToken: 7786, source: `derived: ${MIAAI_BOOT}` },
  },
  speculativeMethods: ["dspark"],
  speculativeDefault: {
    method: "dspark",
    tokens: 5,
    draftSampleMethod: "probabilistic",
    attentionBackend: "B12X",
    source: OFFICIAL_0731,
  },
  backends: { moe: "b12x", linear: "b12x", attention: "B12X" },
  sources: [OFFICIAL_0731, MIAAI_BOOT],
  assumptions: [
    "weights 149 GB as the original (no public byte size; consistent with MiaAI-Lab's boot log)",
    "fp8 KV bytes per token as the original (the DSpark head's own KV is not public)",
    "gated on Hugging Face like the original (an HF token is asked for)",
    "the original's overhead coefficients (calibrated with MTP, not DSpark)",
  ],
};
