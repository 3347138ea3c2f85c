/** dgx-spark-vllm: the public API. */
export * from "./config";
export * from "./plan";
export { PROFILES, PROFILE_NAMES, LONG_CONTEXT_THRESHOLD, type Profile, type ProfileName } from "./profiles";
export { deepseekV4Flash, type ModelSpec, type ModelMemoryGeometry } from "./models/deepseek-v4-flash";
export {
  deepseekV4Flash0731,
  MODEL_VARIANTS,
  MODEL_VARIANT_NAMES,
  IMAGE_PRESETS,
  IMAGE_PRESET_NAMES,
  KNOWN_BAD_HOSTS,
  type ImageCapabilities,
  type ImagePreset,
  type KnownBadHost,
  type ModelVariantName,
} from "./models";
export { gb10, type NodeMemorySpec } from "./models/gb10";
export { shq, shellJoin } from "./shell/quote";
export * from "./components";
