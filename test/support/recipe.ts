/**
 * RECIPE.md's serve facts, copied verbatim from ../shared/RECIPE.md ("The serve command (all
 * profiles)"), so the tests compare the plan against the recipe's own text, not against the code.
 */
export const RECIPE_ENV_EVERY_PROFILE =
  "TILELANG_CLEANUP_TEMP_FILES=1 VLLM_TRITON_MLA_SPARSE=1 VLLM_TRITON_MLA_SPARSE_HEAD_BLOCK_SIZE=4 VLLM_USE_B12X_MOE=1 UCX_MEM_MMAP_HOOK_MODE=none UCX_RCACHE_MAX_UNRELEASED=1024";
export const RECIPE_ENV_LONG = "VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 VLLM_SPARSE_INDEXER_MAX_LOGITS_MB=256";

export const RECIPE_FLAGS = `vllm serve deepseek-ai/DeepSeek-V4-Flash --served-model-name deepseek-v4 --trust-remote-code
--tensor-parallel-size 2 --host 0.0.0.0 --port 8000 --gpu-memory-utilization 0.80
--kv-cache-dtype fp8 --block-size 256 --load-format instanttensor
--speculative-config '{"method":"mtp","num_speculative_tokens":2}' --enable-auto-tool-choice
--tool-call-parser deepseek_v4 --reasoning-parser deepseek_v4 --tokenizer-mode deepseek_v4
--compilation-config '{"cudagraph_mode":"FULL_AND_PIECEWISE","custom_ops":["all"]}'
--enable-prefix-caching --max-cudagraph-capture-size 8`;

/** | profile | --max-model-len | --max-num-seqs | --max-num-batched-tokens | long-context env | */
export const RECIPE_TABLE = [
  { profile: "1m", maxModelLen: "1000000", maxNumSeqs: "6", maxNumBatchedTokens: "8192", longContext: true },
  { profile: "512k", maxModelLen: "524288", maxNumSeqs: "12", maxNumBatchedTokens: "8192", longContext: true },
  { profile: "256k", maxModelLen: "262144", maxNumSeqs: "24", maxNumBatchedTokens: "6144", longContext: false },
] as const;
