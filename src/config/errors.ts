import type { z } from "zod";
import { didYouMean } from "./suggest";

/** One problem (or warning) with the config, tied to the path a user writes. */
export interface ConfigProblem {
  /** Path as written in config, e.g. `nodes[1].dataPlane[0].address`. */
  readonly path: string;
  /** What is wrong and what to do, as one sentence. */
  readonly message: string;
}

/** `["nodes", 1, "dataPlane", 0, "address"]` -> `nodes[1].dataPlane[0].address`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const s = String(seg);
      out += /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s) ? (out ? `.${s}` : s) : `[${JSON.stringify(s)}]`;
    }
  }
  return out || "(config)";
}

/** Thrown for invalid config: every problem at once, nothing created. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(
      `Invalid dgx-spark-vllm config (${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was created or changed):\n` +
        problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

type AnyDef = {
  type?: string;
  shape?: Record<string, unknown>;
  element?: unknown;
  innerType?: unknown;
  in?: unknown;
  options?: readonly unknown[];
};
const defOf = (s: unknown): AnyDef => ((s as { _zod?: { def?: AnyDef } })?._zod?.def ?? {}) as AnyDef;

/**
 * The keys an object schema knows at `path` (through defaults, optionals, pipes, arrays and the
 * branches of a union), for "did you mean" on an unknown key.
 */
export function knownKeysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  let level: unknown[] = [schema];
  const unwrap = (s: unknown): unknown[] => {
    const d = defOf(s);
    if (d.innerType !== undefined) return unwrap(d.innerType);
    if (d.type === "pipe" && d.in !== undefined) return unwrap(d.in);
    if (d.type === "union" && d.options) return d.options.flatMap(unwrap);
    return [s];
  };
  for (const seg of path) {
    level = level.flatMap(unwrap).flatMap((s) => {
      const d = defOf(s);
      if (typeof seg === "number") return d.type === "array" ? [d.element] : [];
      const child = d.type === "object" ? d.shape?.[String(seg)] : undefined;
      return child === undefined ? [] : [child];
    });
  }
  return [...new Set(level.flatMap(unwrap).flatMap((s) => Object.keys(defOf(s).shape ?? {})))];
}

/**
 * Turn zod's issues into problems a user can act on. Never prints input values (they may be
 * secrets); an unknown key is named, with the closest known key at that place when `schema` is given.
 */
export function problemsFromZod(error: z.ZodError, schema?: unknown): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const walk = (issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]) => {
    for (const iss of issues) {
      const path = [...prefix, ...iss.path];
      if (iss.code === "unrecognized_keys") {
        const known = schema === undefined ? [] : knownKeysAt(schema, path);
        for (const k of iss.keys) {
          const hint = didYouMean(k, known);
          out.push({
            path: formatPath([...path, k]),
            message: hint
              ? `is not a known setting${hint}`
              : 'is not a known setting (check the spelling against docs/configuration.md, "Config reference")',
          });
        }
      } else if (iss.code === "invalid_key" && iss.issues.length > 0) {
        // A record key that fails its own schema: report the key's problem at the key's path.
        for (const sub of iss.issues) out.push({ path: formatPath(path), message: sub.message });
      } else if (iss.code === "invalid_union" && iss.errors.length > 0 && !iss.message.startsWith("must")) {
        // Report the branch that got furthest: the one with the fewest problems.
        const best = [...iss.errors].sort((a, b) => a.length - b.length)[0] ?? [];
        walk(best, path);
      } else {
        out.push({ path: formatPath(path), message: iss.message });
      }
    }
  };
  walk(error.issues, []);
  return out;
}
