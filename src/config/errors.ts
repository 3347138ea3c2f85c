import type { z } from "zod";

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

/** Turn zod's issues into problems a user can act on. Never prints input values (they may be secrets). */
export function problemsFromZod(error: z.ZodError): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const walk = (issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]) => {
    for (const iss of issues) {
      const path = [...prefix, ...iss.path];
      if (iss.code === "unrecognized_keys") {
        for (const k of iss.keys)
          out.push({
            path: formatPath([...path, k]),
            message: 'is not a known setting (check the spelling against docs/configuration.md, "Config reference")',
          });
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
