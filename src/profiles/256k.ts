import { COMMON_PROFILE_FIELDS } from "./common";
import type { Profile } from "./types";

/** 256K context: the throughput profile. */
export const profile256k: Profile = {
  ...COMMON_PROFILE_FIELDS,
  name: "256k",
  maxModelLen: 262144,
  maxNumSeqs: 24,
  maxNumBatchedTokens: 6144,
  tradeoff: "best aggregate throughput: 24 sequences of up to 262,144 tokens (32 regressed); no long-context env",
  reference: {
    singleStreamTokPerS: "~40",
    aggregateTokPerS: "~150",
    note: "A/B soak with the UCX fix: flat free memory at 5 concurrent",
  },
};
