/** Helpers shared by the `bench` and `gate` commands. */

export interface CliIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

/** A usage problem: the command prints it with the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The default variable holding the API key (the one vLLM itself reads). */
export const DEFAULT_API_KEY_ENV = "VLLM_API_KEY";

/** Refuse secrets on the command line before parsing anything. */
export function rejectSecretArgs(argv: readonly string[]): void {
  for (const a of argv) {
    if (a === "--api-key" || a.startsWith("--api-key=") || a === "--key" || a.startsWith("--key=")) {
      throw new UsageError("an API key is never taken on the command line (it would show in ps and shell history): put it in an environment variable and pass --api-key-env NAME");
    }
  }
}

/**
 * The API key: from `--api-key-env NAME` (must be set), else from $VLLM_API_KEY when set, else none.
 * Returns where it came from, for a note that never shows the value.
 */
export function apiKeyFromEnv(name: string | undefined, env: NodeJS.ProcessEnv): { key?: string; source?: string } {
  if (name !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`--api-key-env takes a variable name, not '${name.length > 40 ? `${name.slice(0, 4)}...` : name.replace(/./g, "*")}'`);
    const v = env[name];
    if (v === undefined || v === "") throw new UsageError(`--api-key-env ${name}: the environment variable ${name} is not set or empty`);
    return { key: v, source: `$${name}` };
  }
  const v = env[DEFAULT_API_KEY_ENV];
  if (v !== undefined && v !== "") return { key: v, source: `$${DEFAULT_API_KEY_ENV}` };
  return {};
}

export function parsePositiveInt(flag: string, v: string, max = 1_000_000_000): number {
  if (!/^\d+$/.test(v.trim())) throw new UsageError(`${flag} must be a whole number, not '${v}'`);
  const n = Number(v);
  if (n < 1 || n > max) throw new UsageError(`${flag} must be between 1 and ${max}, not ${n}`);
  return n;
}

export function parseNumber(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number, not '${v}'`);
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, not ${n}`);
  return n;
}

/** Seconds (fractions allowed) to milliseconds. */
export function parseSeconds(flag: string, v: string, max = 7 * 24 * 3600): number {
  return Math.round(parseNumber(flag, v, 0.001, max) * 1000);
}

export function parseIntList(flag: string, v: string, max: number): number[] {
  const parts = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0) throw new UsageError(`${flag} needs at least one value`);
  return parts.map((p) => parsePositiveInt(flag, p, max));
}
