import type { Profile } from "./types";

/** Flags every profile of the recipe shares (RECIPE.md "Flags, every profile"). */
export const COMMON_PROFILE_FIELDS = {
  maxCudagraphCaptureSize: 8,
  kvCacheDtype: "fp8",
  blockSize: 256,
  loadFormat: "instanttensor",
  numSpeculativeTokens: 2,
  compilationConfig: { cudagraph_mode: "FULL_AND_PIECEWISE", custom_ops: ["all"] },
  enablePrefixCaching: true,
} as const satisfies Partial<Profile>;

/** Above this --max-model-len the long-context environment is required (RECIPE.md). */
export const LONG_CONTEXT_THRESHOLD = 262144;
