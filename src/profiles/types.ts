/** What a context profile fixes: the vLLM flags that change between profiles, and its story. */
export interface Profile {
  /** Profile name, shown in plans and used as the stack name (`1m`, `512k`, `256k` or custom). */
  readonly name: string;
  /** `--max-model-len`: the longest request in tokens. */
  readonly maxModelLen: number;
  /** `--max-num-seqs`: how many requests run at once. */
  readonly maxNumSeqs: number;
  /** `--max-num-batched-tokens`: the prefill chunk per step. */
  readonly maxNumBatchedTokens: number;
  /** `--max-cudagraph-capture-size`. */
  readonly maxCudagraphCaptureSize: number;
  /** `--kv-cache-dtype`. */
  readonly kvCacheDtype: string;
  /** `--block-size`. */
  readonly blockSize: number;
  /** `--load-format`. */
  readonly loadFormat: string;
  /** MTP speculative tokens (`--speculative-config {"method":"mtp","num_speculative_tokens":N}`). */
  readonly numSpeculativeTokens: number;
  /** `--compilation-config`, as the JSON object vLLM receives. */
  readonly compilationConfig: Readonly<Record<string, unknown>>;
  /** `--enable-prefix-caching`. */
  readonly enablePrefixCaching: boolean;
  /**
   * Add `VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 VLLM_SPARSE_INDEXER_MAX_LOGITS_MB=256`.
   * `undefined` means automatic: on when maxModelLen > 262144.
   */
  readonly longContextEnv?: boolean;
  /** One line: what this profile trades for what. */
  readonly tradeoff: string;
  /** Figures measured by the recipe on 2x GB10 (for comparison, never used to compute flags). */
  readonly reference?: ProfileReference;
}

export interface ProfileReference {
  readonly singleStreamTokPerS?: string;
  readonly aggregateTokPerS?: string;
  readonly kvPoolTokens?: string;
  readonly freePerNodeGb?: string;
  readonly note?: string;
}
