import { profile1m } from "./1m";
import { profile256k } from "./256k";
import { profile512k } from "./512k";
import { LONG_CONTEXT_THRESHOLD } from "./common";
import type { Profile } from "./types";

export type { Profile, ProfileReference } from "./types";
export { COMMON_PROFILE_FIELDS, LONG_CONTEXT_THRESHOLD } from "./common";

/** The built-in profiles by name. */
export const PROFILES = {
  "1m": profile1m,
  "512k": profile512k,
  "256k": profile256k,
} as const satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** Whether a profile gets the long-context environment (explicit setting, else > 262144 tokens). */
export function needsLongContextEnv(p: Profile): boolean {
  return p.longContextEnv ?? p.maxModelLen > LONG_CONTEXT_THRESHOLD;
}
