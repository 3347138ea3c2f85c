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
};
