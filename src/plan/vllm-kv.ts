/**
 * vLLM's own KV-cache count for a hybrid DeepSeek-V4 cache: what it prints at boot
 * ("GPU KV cache size: N tokens", "Maximum concurrency for L tokens per request: X.XXx") and how
 * many max_model_len requests its scheduler truly admits at once.
 *
 * The arithmetic of vLLM 0.33.0 (docs/memory.md "vLLM's count" has the derivation):
 *   - every KV cache group draws block ids from one pool; one block costs bytesPerBlock on every
 *     rank (v1/core/kv_cache_planning.py _get_kv_cache_bytes_per_block: the widest group's pages);
 *     numBlocks = floor(available KV memory / bytesPerBlock) (get_kv_cache_config_from_groups);
 *   - one request at max_model_len L takes, per group (kv_cache_utils.py
 *     get_max_concurrency_for_kv_cache_config, kv_cache_interface.py max_memory_usage_bytes):
 *       full (compressed) groups   ceil(L / blockSize)
 *       sliding-window groups      ceil(min(window - 1 + inFlight, L) / blockSize) + 1
 *     where inFlight = concurrent batches x max_num_batched_tokens (config/vllm.py
 *     max_in_flight_tokens): the compressor states and the 128-token SWA window are reserved for
 *     every token a step may still have in flight;
 *   - maxConcurrency = numBlocks / blocksPerRequest; printed tokens = int(maxConcurrency x L)
 *     (kv_cache_utils.py get_kv_cache_capacity). The token figure is therefore not "pool bytes /
 *     bytes per token": it is L times the (fractional) number of L-token requests.
 * The scheduler admits a request by the same per-group caps (max_admission_blocks_per_request),
 * and BlockPool holds one null block back, so floor((numBlocks - 1) / blocksPerRequest) requests
 * of L tokens fit at once.
 */

/** One KV cache group as vLLM 0.33.0 forms it for the model (kv_cache_planning.py get_kv_cache_groups). */
export interface VllmKvGroup {
  /** What the group holds (for the derivation table). */
  readonly holds: string;
  readonly layers: number;
  readonly kind: "full" | "sliding";
  /** Tokens per block of this group. */
  readonly blockSize: number;
  /** Sliding window in tokens (sliding groups only). */
  readonly window?: number;
}

/** The model's KV layout in vLLM, for one KV dtype and --block-size. */
export interface VllmKvLayout {
  readonly vllmVersion: string;
  readonly kvCacheDtype: string;
  readonly blockSize: number;
  /** Bytes one pool block costs on each rank (the widest group's pages). */
  readonly bytesPerBlock: number;
  readonly groups: readonly VllmKvGroup[];
  /** Where the layout comes from. */
  readonly source: string;
}

export interface VllmKvCount {
  readonly numBlocks: number;
  readonly blocksPerRequest: number;
  /** What vLLM logs: "Maximum concurrency for L tokens per request: X.XXx" (unrounded here). */
  readonly maxConcurrency: number;
  /** What vLLM logs: "GPU KV cache size: N tokens". */
  readonly kvCacheTokens: number;
  /** L-token requests the scheduler admits at once (the worst case: every request at full length). */
  readonly fullContextRequests: number;
  /** One L-token request's share of the pool, GiB (blocksPerRequest x bytesPerBlock). */
  readonly perRequestGiB: number;
}

const GIB = 2 ** 30;
const cdiv = (a: number, b: number) => Math.ceil(a / b);

/** Blocks one request at maxModelLen takes from the pool, summed over the groups. */
export function blocksPerRequest(layout: VllmKvLayout, maxModelLen: number, inFlightTokens: number): number {
  let n = 0;
  for (const g of layout.groups) {
    if (g.kind === "full") n += cdiv(maxModelLen, g.blockSize);
    else n += cdiv(Math.min((g.window as number) - 1 + inFlightTokens, maxModelLen), g.blockSize) + 1;
  }
  return n;
}

/** vLLM's count for `availableGiB` of KV memory on each rank. */
export function vllmKvCount(
  layout: VllmKvLayout,
  availableGiB: number,
  maxModelLen: number,
  inFlightTokens: number,
): VllmKvCount {
  const numBlocks = Math.max(0, Math.floor((availableGiB * GIB) / layout.bytesPerBlock));
  const perRequest = blocksPerRequest(layout, maxModelLen, inFlightTokens);
  const maxConcurrency = numBlocks / perRequest;
  return {
    numBlocks,
    blocksPerRequest: perRequest,
    maxConcurrency,
    kvCacheTokens: Math.floor(maxConcurrency * maxModelLen),
    fullContextRequests: Math.max(0, Math.floor((numBlocks - 1) / perRequest)),
    perRequestGiB: (perRequest * layout.bytesPerBlock) / GIB,
  };
}

/**
 * Concurrent batches vLLM 0.33.0 keeps in flight (config/vllm.py max_concurrent_batches): async
 * scheduling is on by default with the multiprocessing executor and MTP/DSpark, giving PP + 1.
 */
export const concurrentBatches = (pipelineParallelSize: number) => pipelineParallelSize + 1;

// DeepSeek-V4-Flash, fp8 KV (vLLM resolves it to the fp8_ds_mla layout), --block-size 256.
// Published config: 43 layers, compress_ratios [0, 0, 4, 128, 4, ..., 128, 4] (2 SWA-only, 21 C4,
// 20 C128) plus one MTP layer (SWA-only), sliding_window 128, head_dim 512, index_head_dim 128.
// Pages (kv_cache_interface.py AttentionSpec.page_size_bytes, padded to the 576-byte alignment):
const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;
const C4_PAGE = roundUp((256 / 4) * 584, 576); // 64 states x 584 B (448 NoPE fp8 + 128 RoPE + 8 scale)
const C128_PAGE = roundUp((256 / 128) * 584, 576); // 2 states
const INDEXER_PAGE = roundUp((256 / 4) * 132, 576); // 64 states x (128 fp8 + 4 scale)
/** The widest group: 21 C4 + 21 indexer + 20 C128 pages. */
const FLASH_BYTES_PER_BLOCK = 21 * C4_PAGE + 21 * INDEXER_PAGE + 20 * C128_PAGE;

export const FLASH_FP8_VLLM_KV: VllmKvLayout = {
  vllmVersion: "0.33.0",
  kvCacheDtype: "fp8 (fp8_ds_mla)",
  blockSize: 256,
  bytesPerBlock: FLASH_BYTES_PER_BLOCK,
  groups: [
    { holds: "SWA window, layers 0,2,4,..,42", layers: 22, kind: "sliding", blockSize: 64, window: 128 },
    { holds: "SWA window, layers 1,3,..,41 + MTP", layers: 22, kind: "sliding", blockSize: 64, window: 128 },
    { holds: "compressed KV (C4, C128) + indexer keys", layers: 62, kind: "full", blockSize: 256 },
    { holds: "C4 compressor states (KV + indexer)", layers: 42, kind: "sliding", blockSize: 4, window: 8 },
    { holds: "C128 compressor states", layers: 20, kind: "sliding", blockSize: 8, window: 128 },
  ],
  source:
    "vLLM 0.33.0's own grouping of the layer specs DeepSeek-V4's layers declare" +
    " (scripts/vllm-kv-capacity.py runs vLLM's code; test/plan/vllm-kv.test.ts compares)",
};
