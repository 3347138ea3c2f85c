/**
 * Image presets as data: what each image is and which kernels/backends, speculative methods and
 * KV cache dtypes it is known to have, from the public recipe that runs it. The plan checks a
 * config against them (a 0731 config with the b12x backends needs an image that has them).
 */
import type { SpeculativeMethod } from "./deepseek-v4-flash";
import type { VllmCarried } from "./vllm";

/** What an image can run, as far as a public recipe shows. */
export interface ImageCapabilities {
  /** `--speculative-config` methods. */
  readonly speculative: readonly SpeculativeMethod[];
  /** `--kv-cache-dtype` values. */
  readonly kvCacheDtypes: readonly string[];
  /** Kernel families behind `--moe-backend/--linear-backend/--attention-backend` (e.g. b12x). */
  readonly backends: readonly string[];
}

export interface ImagePreset {
  /** Repository (no tag): pinned as `<repository>@<digest>` when a digest is given. */
  readonly repository: string;
  /** The moving tag the public recipe uses. */
  readonly tag: string;
  readonly capabilities: ImageCapabilities;
  /** The vLLM inside, as the recipe that runs it reports it (a dev build is a ref: no release surface). */
  readonly vllm: VllmCarried;
  /** Which public recipe runs it (and so what the capabilities rest on). */
  readonly source: string;
  /** One line for the plan. */
  readonly description: string;
}

/** The recipe's own source build (image.source: build, the default). */
export const BUILD_CAPABILITIES: ImageCapabilities = {
  speculative: ["mtp"],
  kvCacheDtypes: ["fp8"],
  backends: [],
};

export const IMAGE_PRESETS = {
  "eugr-spark-vllm": {
    repository: "eugr/spark-vllm",
    tag: "latest",
    capabilities: { speculative: ["mtp"], kvCacheDtypes: ["fp8"], backends: [] },
    vllm: {
      ref: "0.28.1rc1.dev345+g4cc0cb6f7",
      source: "NVIDIA's original-Flash recipe.yaml records it for its run on this image",
    },
    source:
      "NVIDIA/local-ai-inference-recipes models/deepseek/deepseek-v4-flash/dgx-spark-2gpu/linux/vllm/recipe.yaml (original Flash, MTP-2, fp8 KV)",
    description: "community prebuilt image NVIDIA's official original-Flash two-Spark recipe runs",
  },
  "eugr-spark-vllm-b12x": {
    repository: "eugr/spark-vllm-b12x",
    tag: "latest",
    capabilities: { speculative: ["dspark"], kvCacheDtypes: ["fp8"], backends: ["b12x"] },
    vllm: {
      ref: "0.1.dev20482+g83cb22a0e",
      source: "NVIDIA's 0731 recipe.yaml records it for its run on this image, validated 2026-08-31",
    },
    source:
      "NVIDIA/local-ai-inference-recipes models/deepseek/deepseek-v4-flash-0731/dgx-spark-2gpu/linux/vllm/fp4-fp8-mixed/recipe.yaml" +
      " (0731, DSpark K=5, b12x backends, fp8 KV)",
    description: "community prebuilt B12X image NVIDIA's official 0731 two-Spark recipe requires",
  },
} as const satisfies Record<string, ImagePreset>;

export type ImagePresetName = keyof typeof IMAGE_PRESETS;
export const IMAGE_PRESET_NAMES = Object.keys(IMAGE_PRESETS) as ImagePresetName[];
