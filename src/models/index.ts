/**
 * The model variants as data: `model.variant` selects one. Each carries its flags, environment,
 * memory geometry, KV cache dtypes, speculative methods and defaults, with its sources.
 */
import { deepseekV4Flash } from "./deepseek-v4-flash";
import { deepseekV4Flash0731 } from "./deepseek-v4-flash-0731";

export type {
  BackendChoice,
  KvCacheDtypeSpec,
  ModelMemoryGeometry,
  ModelSpec,
  SpeculativeDefault,
  SpeculativeMethod,
} from "./deepseek-v4-flash";
export { deepseekV4Flash } from "./deepseek-v4-flash";
export { deepseekV4Flash0731 } from "./deepseek-v4-flash-0731";
export {
  IMAGE_PRESETS,
  IMAGE_PRESET_NAMES,
  BUILD_CAPABILITIES,
  type ImageCapabilities,
  type ImagePreset,
} from "./images";
export {
  VLLM_SURFACES,
  VLLM_SURFACE_VERSIONS,
  describeVllm,
  type VllmCarried,
  type VllmOption,
  type VllmSurface,
} from "./vllm";
export { KNOWN_BAD_HOSTS, type KnownBadHost } from "./host-versions";

/** The model variants by name. */
export const MODEL_VARIANTS = {
  "deepseek-v4-flash": deepseekV4Flash,
  "deepseek-v4-flash-0731": deepseekV4Flash0731,
} as const;

export type ModelVariantName = keyof typeof MODEL_VARIANTS;
export const MODEL_VARIANT_NAMES = Object.keys(MODEL_VARIANTS) as ModelVariantName[];
