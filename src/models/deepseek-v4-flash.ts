/**
 * DeepSeek-V4-Flash, as the recipe serves it. Data only; the memory planner reads the geometry.
 * Sources: RECIPE.md "Model" and "Beyond the recipe" (KV bytes per token per rank).
 */
export interface ModelSpec {
  /** Hugging Face repository id. */
  readonly id: string;
  /** Name the OpenAI-compatible API serves it under. */
  readonly servedName: string;
  /** Whether the repository is gated (needs an HF token to download). */
  readonly gated: boolean;
  /** Total size of the weights on disk, GB (10^9 bytes), cached on every node. */
  readonly weightsOnDiskGb: number;
  /** vLLM flags that belong to the model rather than to a profile. */
  readonly modelFlags: readonly string[];
  /** Model-specific environment for every node (RECIPE.md "Environment, every profile"). */
  readonly env: Readonly<Record<string, string>>;
  /** What the memory planner needs (see src/plan/memory.ts). */
  readonly memory: ModelMemoryGeometry;
}

/** Memory geometry of a model, per rank, as the memory planner uses it. */
export interface ModelMemoryGeometry {
  /** Weights loaded across all ranks, GB (10^9 bytes); each rank holds 1/(TP x PP). */
  readonly weightsTotalGb: number;
  /** KV cache bytes per token for the whole model at the served kv-cache dtype (one copy). */
  readonly kvBytesPerToken: number;
  /** Whether TP splits the KV cache (false for MLA's latent KV, which every TP rank keeps whole). */
  readonly kvShardedByTp: boolean;
  /**
   * Non-KV memory inside vLLM's budget: activations, sampler and MTP buffers per sequence, CUDA
   * graphs per capture size, runtime. GiB = base + perSeq x max-num-seqs + perCaptureSize x
   * max-cudagraph-capture-size. Calibrated on GB10 at TP=2 (see src/plan/memory.ts).
   */
  readonly overheadGiB: { readonly base: number; readonly perSeq: number; readonly perCaptureSize: number };
}

export const deepseekV4Flash: ModelSpec = {
  id: "deepseek-ai/DeepSeek-V4-Flash",
  servedName: "deepseek-v4",
  gated: true,
  weightsOnDiskGb: 149,
  modelFlags: [
    "--trust-remote-code",
    "--enable-auto-tool-choice",
    "--tool-call-parser",
    "deepseek_v4",
    "--reasoning-parser",
    "deepseek_v4",
    "--tokenizer-mode",
    "deepseek_v4",
  ],
  env: {
    TILELANG_CLEANUP_TEMP_FILES: "1",
    VLLM_TRITON_MLA_SPARSE: "1",
    VLLM_TRITON_MLA_SPARSE_HEAD_BLOCK_SIZE: "4",
    VLLM_USE_B12X_MOE: "1",
  },
  memory: {
    // ~149 GB of FP8 weights; ~74.5 GB per node at TP=2 (RECIPE.md "Model").
    weightsTotalGb: 149,
    // One 1,048,576-token request needs ~11.04 GiB of fp8 KV per rank (RECIPE.md): 11.04 GiB / 2^20.
    kvBytesPerToken: 11305,
    kvShardedByTp: false,
    // Fitted to three measured GB10 points, checked on two more (src/plan/memory.ts, docs/memory.md).
    overheadGiB: { base: 9.743, perSeq: 0.4387, perCaptureSize: 0.06816 },
  },
};
