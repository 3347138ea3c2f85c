/**
 * Every public two-Spark (2x DGX Spark, GB10, TP=2) serving measurement of DeepSeek-V4-Flash that
 * /work/shared LANDSCAPE.md and RECIPE.md cite, as data. None was measured by this project; each
 * row names its source. `recommend` shows the row nearest a configuration; the docs quote these
 * rows (test/models/published-results.test.ts holds the docs' numbers to the rows).
 *
 * Not here, on purpose: four-Spark results (V4.1-Flash, SGLang TP=4), one Spark alone, and the
 * forum's boot-log KV figures (they are memory, not throughput: src/plan/vllm-kv.ts tests them).
 */
import type { SpeculativeMethod } from "./deepseek-v4-flash";

/** A figure as published: a single value or a range, `approx` when the source says "~". */
export interface Figure {
  readonly low: number;
  readonly high: number;
  readonly approx?: boolean;
}

export interface PublishedResult {
  readonly id: string;
  readonly variant: "deepseek-v4-flash" | "deepseek-v4-flash-0731";
  /** As published; "unknown" where the source does not say. */
  readonly speculative: SpeculativeMethod | "off" | "unknown";
  readonly speculativeTokens?: number;
  readonly kvCacheDtype: "fp8" | "nvfp4_ds_mla" | "unknown";
  /** --max-model-len; undefined: not published (or `auto`). */
  readonly maxModelLen?: number;
  readonly maxNumSeqs?: number;
  readonly gpuMemoryUtilization?: number;
  /** The image as the source names it. */
  readonly image?: string;
  /** Decode tok/s of one stream (concurrency 1). */
  readonly singleStream?: Figure;
  /** Aggregate decode tok/s at `aggregateConcurrency`. */
  readonly aggregate?: Figure;
  readonly aggregateConcurrency?: number;
  /** Prefill tok/s and the prompt length it was measured at. */
  readonly prefill?: Figure & { readonly promptTokens: number };
  /** What else the source says about the workload (prompt lengths, thinking, ...). */
  readonly workload: string;
  /** Where: repository path or page title. */
  readonly source: string;
  /** When the source dates the measurement (YYYY-MM or YYYY-MM-DD); undefined: undated. */
  readonly measured?: string;
  /** When we read it. */
  readonly read: string;
  /** The source's own caveat (e.g. "interpolated"): such a figure is not a measurement. */
  readonly caveat?: string;
}

const f = (low: number, high = low, approx = false): Figure => ({ low, high, ...(approx ? { approx } : {}) });
const RECIPE = "GanyX19/deepseek-v4-1m-on-dgx-spark README (the recipe; RECIPE.md 'Benchmark method')";

export const PUBLISHED_RESULTS: readonly PublishedResult[] = [
  {
    id: "recipe-1m",
    variant: "deepseek-v4-flash",
    speculative: "mtp",
    speculativeTokens: 2,
    kvCacheDtype: "fp8",
    maxModelLen: 1_000_000,
    maxNumSeqs: 6,
    gpuMemoryUtilization: 0.8,
    image: "source build of vLLM PR #41834 (the recipe)",
    singleStream: f(37, 37, true),
    aggregate: f(98, 101, true),
    aggregateConcurrency: 6,
    workload: "short outputs (~128 tokens), thinking off, varied prompts; saturates at the 6-seq cap",
    source: RECIPE,
    read: "2026-12",
  },
  {
    id: "recipe-512k",
    variant: "deepseek-v4-flash",
    speculative: "mtp",
    speculativeTokens: 2,
    kvCacheDtype: "fp8",
    maxModelLen: 524_288,
    maxNumSeqs: 12,
    gpuMemoryUtilization: 0.8,
    image: "source build of vLLM PR #41834 (the recipe)",
    singleStream: f(40, 40, true),
    aggregate: f(130, 130, true),
    aggregateConcurrency: 12,
    workload: "as recipe-1m",
    source: RECIPE,
    read: "2026-12",
    caveat: "the source calls these figures interpolated",
  },
  {
    id: "recipe-256k",
    variant: "deepseek-v4-flash",
    speculative: "mtp",
    speculativeTokens: 2,
    kvCacheDtype: "fp8",
    maxModelLen: 262_144,
    maxNumSeqs: 24,
    gpuMemoryUtilization: 0.8,
    image: "source build of vLLM PR #41834 (the recipe)",
    singleStream: f(40, 40, true),
    aggregate: f(150, 150, true),
    aggregateConcurrency: 24,
    workload: "as recipe-1m",
    source: RECIPE,
    read: "2026-12",
  },
  {
    id: "nvidia-original",
    variant: "deepseek-v4-flash",
    speculative: "mtp",
    speculativeTokens: 2,
    kvCacheDtype: "fp8",
    maxModelLen: 500_000,
    maxNumSeqs: 4,
    gpuMemoryUtilization: 0.85,
    image: "eugr/spark-vllm:latest",
    singleStream: f(35.96),
    prefill: { ...f(2077.61), promptTokens: 8192 },
    workload: "aiperf, ~8K-token inputs (nvidia/SPEED-Bench throughput_8k), 256 output tokens, concurrency 1",
    source:
      "NVIDIA/local-ai-inference-recipes models/deepseek/deepseek-v4-flash/dgx-spark-2gpu/linux/vllm/performance.yaml",
    read: "2026-12",
  },
  {
    id: "nvidia-0731",
    variant: "deepseek-v4-flash-0731",
    speculative: "dspark",
    speculativeTokens: 5,
    kvCacheDtype: "fp8",
    maxNumSeqs: 8,
    gpuMemoryUtilization: 0.85,
    image: "eugr/spark-vllm-b12x:latest",
    singleStream: f(40.65),
    prefill: { ...f(2375.84), promptTokens: 8192 },
    workload: "aiperf 0.12.0, ~8K-token inputs (nvidia/SPEED-Bench throughput_8k), 256 output tokens, concurrency 1",
    source:
      "NVIDIA/local-ai-inference-recipes models/deepseek/deepseek-v4-flash-0731/dgx-spark-2gpu/linux/vllm/fp4-fp8-mixed/performance.yaml",
    measured: "2026-09-03",
    read: "2026-12",
  },
  {
    id: "miaai-0731-nvfp4-1m",
    variant: "deepseek-v4-flash-0731",
    speculative: "dspark",
    speculativeTokens: 5,
    kvCacheDtype: "nvfp4_ds_mla",
    maxModelLen: 1_048_576,
    maxNumSeqs: 6,
    image: "Anemll community fork image",
    singleStream: f(75, 96),
    aggregate: f(191),
    aggregateConcurrency: 6,
    workload:
      "short prompts; 128K prompt: TTFT 79 s; 900K prompt: 1,029 s; at 32K+ prompts x4-6 streams each stream drops to ~8 tok/s",
    source: "MiaAI-Lab/DeepSeek-v4-Flash-DSpark-2x-DGX-Spark results/RESULTS-2026-08-14.md",
    measured: "2026-08-14",
    read: "2026-12",
  },
  {
    id: "miaai-0731-nvfp4-200k-c16",
    variant: "deepseek-v4-flash-0731",
    speculative: "dspark",
    speculativeTokens: 5,
    kvCacheDtype: "nvfp4_ds_mla",
    maxModelLen: 200_000,
    maxNumSeqs: 16,
    image: "Anemll community fork image",
    aggregate: f(315),
    aggregateConcurrency: 16,
    workload: "200K context profile, 16 concurrent",
    source: "MiaAI-Lab/DeepSeek-v4-Flash-DSpark-2x-DGX-Spark results/RESULTS-2026-08-14.md",
    measured: "2026-08-14",
    read: "2026-12",
  },
  {
    id: "forum-dspark-1m",
    variant: "deepseek-v4-flash-0731",
    speculative: "dspark",
    kvCacheDtype: "nvfp4_ds_mla",
    maxModelLen: 1_048_576,
    maxNumSeqs: 6,
    singleStream: f(40, 67, true),
    aggregate: f(182, 182, true),
    aggregateConcurrency: 6,
    workload:
      "thinking off, warmed; ~67 tok/s on code, ~40 on mixed content" +
      "; variant taken as 0731 (the post names DeepSeek-V4-Flash-DSpark; only 0731 bundles a DSpark head)",
    source:
      'NVIDIA developer forum, "DeepSeek-V4-Flash-DSpark on 2x DGX Spark (GB10)' +
      ' - big single-stream speed boost (~60-67 tok/s) + 1M context, now with concurrency"',
    read: "2026-12-07",
  },
  {
    id: "forum-dspark-200k-c16",
    variant: "deepseek-v4-flash-0731",
    speculative: "dspark",
    kvCacheDtype: "nvfp4_ds_mla",
    maxModelLen: 200_000,
    maxNumSeqs: 16,
    aggregate: f(315, 315, true),
    aggregateConcurrency: 16,
    workload: "a 200K / 16-seq profile",
    source:
      'NVIDIA developer forum, "DeepSeek-V4-Flash-DSpark on 2x DGX Spark (GB10)' +
      ' - big single-stream speed boost (~60-67 tok/s) + 1M context, now with concurrency"',
    read: "2026-12-07",
  },
  {
    id: "flowtivity-1m",
    variant: "deepseek-v4-flash",
    speculative: "unknown",
    kvCacheDtype: "unknown",
    maxModelLen: 1_048_576,
    singleStream: f(41),
    workload:
      "TP=2 over RoCEv2; given as 41 tok/s without a concurrency (taken as one stream); settings beyond the context length not published",
    source: "flowtivity.ai",
    measured: "2026-06-10",
    read: "2026-12-07",
  },
  {
    id: "recipe-cited-dspark-nvfp4",
    variant: "deepseek-v4-flash-0731",
    speculative: "dspark",
    speculativeTokens: 5,
    kvCacheDtype: "nvfp4_ds_mla",
    image: "vLLM 0.25 with NVFP4 KV from a fork",
    singleStream: f(72, 96, true),
    aggregate: f(340, 340, true),
    aggregateConcurrency: 16,
    workload: "not described where cited",
    source: "one public two-Spark deployment, as RECIPE.md 'Known issues' cites it (the deployment is not named there)",
    read: "2026-12",
  },
];

/** Every number a row publishes (for the docs check and for labels). */
export function rowNumbers(r: PublishedResult): number[] {
  const out: number[] = [];
  for (const x of [r.singleStream, r.aggregate, r.prefill]) if (x) out.push(x.low, x.high);
  return out;
}

/** "~98-101", "35.96", "75-96": a figure as the docs write it. */
export function formatFigure(x: Figure): string {
  const n = (v: number) => v.toLocaleString("en-US", { maximumFractionDigits: 2 });
  return `${x.approx ? "~" : ""}${x.low === x.high ? n(x.low) : `${n(x.low)}-${n(x.high)}`}`;
}
