/**
 * DeepSeek-V4-Flash, as the recipe serves it. Data only; the memory planner reads the geometry.
 * Sources: RECIPE.md "Model" and "Beyond the recipe" (KV bytes per token per rank).
 */

import { FLASH_FP8_VLLM_KV, type VllmKvLayout } from "../plan/vllm-kv";

/** Speculative decoding methods a variant may support (`--speculative-config {"method": ...}`). */
export type SpeculativeMethod = "mtp" | "dspark";

/** A variant's default `--speculative-config`, from its source. */
export interface SpeculativeDefault {
  readonly method: SpeculativeMethod | "off";
  /** num_speculative_tokens; undefined: the profile's numSpeculativeTokens (the recipe's MTP-2). */
  readonly tokens?: number;
  readonly draftSampleMethod?: string;
  readonly attentionBackend?: string;
  /** Where the default comes from. */
  readonly source: string;
}

/** One `--kv-cache-dtype` a variant can serve, with the memory model's bytes per token. */
export interface KvCacheDtypeSpec {
  /** KV bytes per token for the whole model (one copy; MLA keeps it whole on every TP rank). */
  readonly bytesPerToken: number;
  /** Where the figure comes from (a measurement, or how it was derived). */
  readonly source: string;
  /** How vLLM itself groups and counts this cache (src/plan/vllm-kv.ts); absent: not derived. */
  readonly vllmKv?: VllmKvLayout;
}

/** `--moe-backend`, `--linear-backend`, `--attention-backend`; "default" leaves the flag out. */
export interface BackendChoice {
  readonly moe: string;
  readonly linear: string;
  readonly attention: string;
}

export interface ModelSpec {
  /** Variant name, as `model.variant` selects it. */
  readonly variant: string;
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
  /** What the memory planner needs (see src/plan/memory.ts); kvBytesPerToken is the fp8 default. */
  readonly memory: ModelMemoryGeometry;
  /** The KV cache dtypes this variant can serve (the image must have them too), by vLLM name. */
  readonly kvCacheDtypes: Readonly<Record<string, KvCacheDtypeSpec>>;
  /** Speculative methods the checkpoint has heads for. */
  readonly speculativeMethods: readonly SpeculativeMethod[];
  /** Default `serving.speculative`. */
  readonly speculativeDefault: SpeculativeDefault;
  /** Default `serving.backends`. */
  readonly backends: BackendChoice;
  /** Sources of the flags, env and geometry; and what is assumed where no source says. */
  readonly sources: readonly string[];
  readonly assumptions: readonly string[];
}

/** Memory geometry of a model, per rank, as the memory planner uses it. */
export interface ModelMemoryGeometry {
  /** Weights loaded across all ranks, GB (10^9 bytes); each rank holds 1/(TP x PP). */
  readonly weightsTotalGb: number;
  /** KV cache bytes per token for the whole model at the served kv-cache dtype (one copy). */
  readonly kvBytesPerToken: number;
  /** Whether TP splits the KV cache (false for MLA's latent KV, which every TP rank keeps whole). */
  readonly kvShardedByTp: boolean;
  /** vLLM's own KV grouping for the served dtype (src/plan/vllm-kv.ts); absent: not derived. */
  readonly vllmKv?: VllmKvLayout;
  /**
   * Non-KV memory inside vLLM's budget: activations, sampler and MTP buffers per sequence, CUDA
   * graphs per capture size, runtime. GiB = base + perSeq x max-num-seqs + perCaptureSize x
   * max-cudagraph-capture-size. Calibrated on GB10 at TP=2 (see src/plan/memory.ts).
   */
  readonly overheadGiB: { readonly base: number; readonly perSeq: number; readonly perCaptureSize: number };
}

export const deepseekV4Flash: ModelSpec = {
  variant: "deepseek-v4-flash",
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
    vllmKv: FLASH_FP8_VLLM_KV,
    // Fitted to three measured GB10 points, checked on two more (src/plan/memory.ts, docs/memory.md).
    overheadGiB: { base: 9.743, perSeq: 0.4387, perCaptureSize: 0.06816 },
  },
  kvCacheDtypes: {
    fp8: {
      bytesPerToken: 11305,
      source: "RECIPE.md: ~11.04 GiB of fp8 KV per rank for one 1,048,576-token request",
      vllmKv: FLASH_FP8_VLLM_KV,
    },
  },
  speculativeMethods: ["mtp"],
  speculativeDefault: {
    method: "mtp",
    source: "the recipe: MTP heads, num_speculative_tokens 2 (vllm-project/vllm PR #41834)",
  },
  backends: { moe: "default", linear: "default", attention: "default" },
  sources: [
    "the recipe (RECIPE.md): flags, environment, geometry",
    "NVIDIA/local-ai-inference-recipes models/deepseek/deepseek-v4-flash/dgx-spark-2gpu/linux/vllm/recipe.yaml (same parsers, MTP-2)",
  ],
  assumptions: [],
};
