import { COMMON_PROFILE_FIELDS } from "./common";
import type { Profile } from "./types";

/** 1M context: the longest requests, six at a time. */
export const profile1m: Profile = {
  ...COMMON_PROFILE_FIELDS,
  name: "1m",
  maxModelLen: 1000000,
  maxNumSeqs: 6,
  maxNumBatchedTokens: 8192,
  tradeoff: "maximum context (1,000,000 tokens) for low concurrency: KV-bound at 6 sequences, tightest memory headroom",
  reference: {
    singleStreamTokPerS: "~37",
    aggregateTokPerS: "~98-101 (saturates at the 6-seq cap)",
    kvPoolTokens: "~1.43 M @ util 0.80",
    freePerNodeGb: "~8",
  },
};
