import type { ServingConfig } from "../config/schema";
import { COMMON_PROFILE_FIELDS, needsLongContextEnv, PROFILES, type Profile } from "../profiles";

/** A profile with every field decided, as the plan uses it. */
export interface ResolvedProfile extends Omit<Profile, "longContextEnv"> {
  /** Whether the long-context environment is added (explicit, or maxModelLen > 262144). */
  readonly longContextEnv: boolean;
  /** The built-in profile this one starts from (its own name for a built-in). */
  readonly base?: string;
  /** Fields changed from the base. */
  readonly overrides: readonly string[];
}

/** Resolve `serving.profile` (a name or a custom object) into one complete profile. */
export function resolveProfile(serving: Pick<ServingConfig, "profile">): ResolvedProfile {
  const p = serving.profile;
  if (typeof p === "string") {
    const base = PROFILES[p];
    return { ...base, longContextEnv: needsLongContextEnv(base), base: p, overrides: [] };
  }
  const { base: baseName, ...fields } = p;
  const base: Partial<Profile> = baseName ? PROFILES[baseName] : {};
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<Profile>;
  // The schema guarantees maxModelLen/maxNumSeqs/maxNumBatchedTokens when there is no base.
  const merged = {
    ...COMMON_PROFILE_FIELDS,
    ...base,
    ...defined,
    name: defined.name ?? (baseName ? `${baseName}-custom` : "custom"),
  } as Profile;
  const overrides = Object.keys(defined)
    .filter((k) => k !== "name")
    .sort();
  const out: ResolvedProfile = {
    ...merged,
    tradeoff:
      defined.tradeoff ??
      (baseName
        ? `${PROFILES[baseName].tradeoff}; custom: ${overrides.join(", ") || "no overrides"}`
        : "custom profile"),
    longContextEnv: needsLongContextEnv(merged),
    overrides,
    ...(baseName ? { base: baseName } : {}),
  };
  if (!baseName || overrides.length > 0) delete (out as { reference?: unknown }).reference;
  return out;
}
