/**
 * CLI plumbing shared by every command (`plan`, `bench`, `gate`, `doctor`): the output streams,
 * usage errors, strict option parsing that refuses secrets on the command line, the API key from
 * the environment, number and endpoint checks.
 */
import { parseArgs } from "node:util";
import { DEFAULT_TIMEOUTS, normalizeEndpoint, type Timeouts } from "../bench/client";
import { didYouMean } from "../config/suggest";

/** Where a command writes: stdout and stderr (tests capture them). */
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
      throw new UsageError(
        "an API key is never taken on the command line (it would show in ps and shell history): put it in an environment variable and pass --api-key-env NAME",
      );
    }
  }
}

/**
 * The API key: from `--api-key-env NAME` (must be set), else from $VLLM_API_KEY when set, else none.
 * Returns where it came from, for a note that never shows the value.
 */
export function apiKeyFromEnv(name: string | undefined, env: NodeJS.ProcessEnv): { key?: string; source?: string } {
  if (name !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new UsageError(
        `--api-key-env takes a variable name, not '${name.length > 40 ? `${name.slice(0, 4)}...` : name.replace(/./g, "*")}'`,
      );
    const v = env[name];
    if (v === undefined || v === "")
      throw new UsageError(`--api-key-env ${name}: the environment variable ${name} is not set or empty`);
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
  const parts = v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (parts.length === 0) throw new UsageError(`${flag} needs at least one value`);
  return parts.map((p) => parsePositiveInt(flag, p, max));
}

export type OptionSpec = { type: "string" | "boolean"; short?: string; multiple?: boolean };

/** Options `doctor` and `repair` share: the stack, how to reach its nodes, JSON output and help. */
export const STACK_OPTIONS: Record<string, OptionSpec> = {
  stack: { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" },
  identity: { type: "string" },
  instance: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Options `bench` and `gate` share: endpoint, key variable, the three timeouts, output and help. */
export const SHARED_OPTIONS: Record<string, OptionSpec> = {
  endpoint: { type: "string" },
  "api-key-env": { type: "string" },
  "first-token-timeout": { type: "string" },
  "idle-timeout": { type: "string" },
  "request-timeout": { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Parse a command's argv (its own options plus SHARED_OPTIONS), refusing keys on the command line.
 * Returns the values, or the exit code when it printed usage (2 for a usage error, 0 for --help).
 */
export function parseCommandArgs(
  argv: readonly string[],
  own: Record<string, OptionSpec>,
  usage: string,
  io: CliIo,
): ParsedValues | number {
  return parseOptions(argv, { ...SHARED_OPTIONS, ...own }, usage, io);
}

/**
 * Parse a command's options strictly (secrets on the command line refused first). Returns the
 * values, or the exit code after printing: 2 with the problem and the usage, 0 after `--help`.
 */
export function parseOptions(
  argv: readonly string[],
  options: Record<string, OptionSpec>,
  usage: string,
  io: CliIo,
): ParsedValues | number {
  let values: ParsedValues;
  try {
    rejectSecretArgs(argv);
    rejectUnknownOptions(argv, options);
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (e) {
    io.err(`${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    io.out(usage);
    return 0;
  }
  return values;
}

/** An unknown `--option` named with the closest known one (before parseArgs, whose message is longer). */
function rejectUnknownOptions(argv: readonly string[], options: Record<string, OptionSpec>): void {
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k] as string;
    if (a === "--") return;
    if (!a.startsWith("--")) continue;
    const name = a.slice(2).split("=")[0] as string;
    const spec = options[name];
    if (spec === undefined) {
      const hint = didYouMean(name, Object.keys(options), "--");
      throw new UsageError(`Unknown option '--${name}'${hint}`);
    }
    if (spec.type === "string" && !a.includes("=")) k++; // skip its value
  }
}

/** The three request timeouts from --first-token-timeout/--idle-timeout/--request-timeout, else the defaults. */
export function timeoutsFrom(values: ParsedValues): Timeouts {
  const seconds = (flag: string, dflt: number) =>
    typeof values[flag] === "string" ? parseSeconds(`--${flag}`, values[flag] as string) : dflt;
  return {
    firstTokenMs: seconds("first-token-timeout", DEFAULT_TIMEOUTS.firstTokenMs),
    idleMs: seconds("idle-timeout", DEFAULT_TIMEOUTS.idleMs),
    totalMs: seconds("request-timeout", DEFAULT_TIMEOUTS.totalMs),
  };
}

/** Check an endpoint URL, as a usage error. */
export function checkEndpoint(endpoint: string): void {
  try {
    normalizeEndpoint(endpoint);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A token count: digits with an optional k (x1024) or m (x1048576) suffix, as in 8k = 8192, 128k. */
export function parseTokenCount(flag: string, v: string, min = 0, max = 100_000_000): number {
  const m = /^(\d+)([kKmM]?)$/.exec(v.trim());
  if (!m) throw new UsageError(`${flag}: '${v}' is not a token count (e.g. 0, 8192, 32k, 128k; k = 1024)`);
  const unit = (m[2] ?? "").toLowerCase();
  const n = Number(m[1]) * (unit === "k" ? 1024 : unit === "m" ? 1_048_576 : 1);
  if (n < min || n > max) throw new UsageError(`${flag}: ${v} must be between ${min} and ${max} tokens`);
  return n;
}
