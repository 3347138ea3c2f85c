import { COMMON_PROFILE_FIELDS } from "./common";
import type { Profile } from "./types";

/** 512K context: the middle ground. */
export const profile512k: Profile = {
  ...COMMON_PROFILE_FIELDS,
  name: "512k",
  maxModelLen: 524288,
  maxNumSeqs: 12,
  maxNumBatchedTokens: 8192,
  tradeoff: "half the context of 1m for twice the sequences (12; the recipe's live production runs 16)",
  reference: {
    singleStreamTokPerS: "~40",
    aggregateTokPerS: "~130 (interpolated)",
    kvPoolTokens: "~1.18 M @ util 0.80",
    freePerNodeGb: "~7",
  },
};
