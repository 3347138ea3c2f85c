/**
 * The plan checked against the vLLM the image carries: every `vllm serve` flag and value of every
 * node's argv against that release's surface (src/models/vllm-surface, generated from vLLM itself),
 * and every VLLM_* variable against the names vLLM reads. An unknown flag or a value outside the
 * choices is a config error; an unknown VLLM_* variable is a warning (vLLM ignores it, so a kernel
 * is silently not used). An image whose vLLM is a ref (a commit, PR head or dev build) is not
 * checked, and the plan says so once. Pure.
 */
import type { ConfigProblem } from "../config/errors";
import type { ClusterConfig } from "../config/schema";
import { closest, editDistance } from "../config/suggest";
import { IMAGE_PRESETS, VLLM_SURFACES, describeVllm } from "../models";
import type { ModelSpec } from "../models/deepseek-v4-flash";
import type { VllmCarried, VllmOption, VllmSurface } from "../models/vllm";

/** Which vLLM the image carries, and the surface the plan checked against (null: not checked). */
export interface ImageVllmPlan {
  readonly version?: string;
  readonly ref?: string;
  /** Where the plan knows it from. */
  readonly from: string;
  /** The release whose committed surface serveArgv and env were checked against, or null. */
  readonly surface: string | null;
}

const RELEASE_TAG = /^v?(\d+\.\d+\.\d+)$/;

/** The vLLM an image config carries: a source build at a release tag without a PR is that release. */
export function imageVllm(image: ClusterConfig["image"]): VllmCarried {
  if (image.source === "preset") return IMAGE_PRESETS[image.name].vllm;
  if (image.source === "prebuilt") {
    if (!image.vllm) return { ref: "unknown", source: "image.vllm is not set" };
    return "version" in image.vllm
      ? { version: image.vllm.version, source: "image.vllm" }
      : { ref: image.vllm.ref, source: "image.vllm" };
  }
  const tag = RELEASE_TAG.exec(image.vllmRef);
  if (tag && image.prs.length === 0)
    return { version: tag[1] as string, source: "image.vllmRef (a release tag, no PR)" };
  return {
    ref: image.prs.length > 0 ? `${image.vllmRef} with PR #${image.prs[0]}` : image.vllmRef,
    source:
      image.prs.length > 0 ? "image.vllmRef and image.prs (the source build)" : "image.vllmRef (the source build)",
  };
}

/** The image's vLLM for the plan: what it is, from where, and the surface it is checked against. */
export function imageVllmPlan(
  image: ClusterConfig["image"],
  surfaces: Readonly<Record<string, VllmSurface>> = VLLM_SURFACES,
): ImageVllmPlan {
  const carried = imageVllm(image);
  if ("version" in carried)
    return {
      version: carried.version,
      from: carried.source,
      surface: surfaces[carried.version] ? carried.version : null,
    };
  return { ref: carried.ref, from: carried.source, surface: null };
}

/** One finding in an argv: the index of the offending token and what is wrong. */
export interface ArgvFinding {
  readonly index: number;
  /** The option as written (before `=`), e.g. `--kv-cache-dtype`. */
  readonly flag: string;
  readonly message: string;
  /** A deprecation is a warning; anything else is an error. */
  readonly severity: "error" | "warning";
}

/** Every spelling (`--x`, aliases, `--no-x`) of every option. */
function spellings(surface: VllmSurface): Map<string, VllmOption> {
  const m = new Map<string, VllmOption>();
  for (const o of surface.serve.options)
    for (const s of [o.name, ...o.aliases, ...o.negations, ...o.hidden]) m.set(s, o);
  return m;
}

const spellingCache = new WeakMap<VllmSurface, Map<string, VllmOption>>();
function spellingsOf(surface: VllmSurface): Map<string, VllmOption> {
  let m = spellingCache.get(surface);
  if (!m) spellingCache.set(surface, (m = spellings(surface)));
  return m;
}

/**
 * The nearest candidate: a likely typo (suggest.ts closest), else the one sharing the most words
 * (split on - and _), ties to the smaller edit distance. Undefined only without candidates.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const typo = closest(word, candidates);
  if (typo) return typo;
  const words = (s: string) => new Set(s.toLowerCase().split(/[-_]+/).filter(Boolean));
  const mine = words(word);
  let best: string | undefined;
  let bestShared = -1;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const shared = [...words(c)].filter((w) => mine.has(w)).length;
    const d = editDistance(word, c);
    if (shared > bestShared || (shared === bestShared && d < bestD)) {
      best = c;
      bestShared = shared;
      bestD = d;
    }
  }
  return best;
}

const isValueToken = (t: string | undefined): boolean => t !== undefined && (!t.startsWith("-") || /^-\d/.test(t));

function listChoices(choices: readonly unknown[]): string {
  const all = choices.map(String);
  return all.length <= 12 ? all.join(", ") : `${all.slice(0, 12).join(", ")}, ... (${all.length} in all)`;
}

/** The values vLLM accepts for an option, when the surface knows them, and how it rewrites a value first. */
function allowedValues(
  option: VllmOption,
  surface: VllmSurface,
): { values: readonly string[]; normalize: string | null } | undefined {
  if (option.choices && (option.type === "str" || option.type === "int" || option.normalize))
    return { values: option.choices.map(String), normalize: option.normalize ?? null };
  const later = surface.serve.laterChecked[option.name];
  return later ? { values: later.values, normalize: later.normalize } : undefined;
}

function normalizeValue(v: string, how: string | null): string {
  if (how === "upper") return v.toUpperCase();
  if (how === "lower") return v.toLowerCase();
  if (how === "lower, - to _") return v.toLowerCase().replace(/-/g, "_");
  return v;
}

/**
 * The findings of vLLM's `vllm serve` parser rules on `argv` (`["vllm", "serve", MODEL, ...]`), as
 * the surface of one release knows them: unknown options (vLLM's spelling rules: `_` for `-`,
 * `--x.key=value` for JSON options, unique prefixes when the parser allows them), values outside
 * the choices, a missing value, a value given to a flag, and deprecated options. Any other argv
 * (a Ray worker's `ray start`) has no findings.
 */
export function checkServeArgv(argv: readonly string[], surface: VllmSurface): ArgvFinding[] {
  if (argv[0] !== "vllm" || argv[1] !== "serve") return [];
  return new ServeArgvCheck(argv, surface).run();
}

/** One argument of `vllm serve`, split as argparse sees it. */
interface ArgToken {
  readonly tok: string;
  /** The option name with '_' as '-' and without a `.key` suffix. */
  readonly base: string;
  /** The value after '=', when there is one. */
  readonly value: string | undefined;
  /** A `--json-option.key` form. */
  readonly dotted: boolean;
}

/** A walk over one argv as vLLM's serve parser walks it, collecting what it would refuse. */
class ServeArgvCheck {
  private readonly opts: Map<string, VllmOption>;
  private readonly longs: string[];
  private readonly v: string;
  private readonly out: ArgvFinding[] = [];
  private positional = false;
  private i = 2;

  constructor(
    private readonly argv: readonly string[],
    private readonly surface: VllmSurface,
  ) {
    this.opts = spellingsOf(surface);
    this.longs = [...this.opts.keys()].filter((s) => s.startsWith("--"));
    this.v = `vLLM ${surface.vllm}`;
  }

  run(): ArgvFinding[] {
    const argv = this.argv;
    for (; this.i < argv.length; this.i++) {
      const tok = argv[this.i] as string;
      if (isValueToken(tok)) {
        if (this.positional)
          this.find(tok, "error", `'${tok}' is an extra argument ${this.v}'s vllm serve refuses (one model only)`);
        this.positional = true;
        continue;
      }
      if (tok === "--") break;
      // -O3 / -O=3 / -O 3: vLLM's shorthand for --optimization-level.
      if (/^-O./.test(tok)) continue;
      this.option(split(tok));
    }
    return this.out;
  }

  private find(flag: string, severity: ArgvFinding["severity"], message: string): void {
    this.out.push({ index: this.i, flag, severity, message });
  }

  /** The option a spelling names: exact, or (where vLLM allows it) a unique prefix of one. */
  private resolve(base: string): VllmOption | undefined {
    const option = this.opts.get(base);
    if (option || !this.surface.serve.allowAbbrev || !base.startsWith("--")) return option;
    const prefixed = [
      ...new Set(this.longs.filter((s) => s.startsWith(base)).map((s) => this.opts.get(s) as VllmOption)),
    ];
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  private option(t: ArgToken): void {
    const { base, value } = t;
    const option = this.resolve(base);
    if (!option) {
      const near = nearest(
        base,
        this.surface.serve.options.map((o) => o.name),
      );
      this.find(base, "error", `${base} is not a vllm serve option in ${this.v}${near ? ` (nearest: ${near})` : ""}`);
      if (value === undefined && isValueToken(this.argv[this.i + 1]) && this.positional) this.i++;
      return;
    }
    if (option.deprecated) this.find(base, "warning", `${base} is deprecated in ${this.v}: ${option.deprecated}`);
    if (t.dotted) {
      // --json-option.key value: a key of a JSON option (vLLM folds these into one JSON value).
      if (!option.takesValue)
        this.find(base, "error", `${base} takes no value in ${this.v}, so ${t.tok} has no key to set`);
      if (value === undefined) this.i++;
      return;
    }
    if (!option.takesValue) {
      if (value !== undefined)
        this.find(base, "error", `${base} is a flag in ${this.v}: it takes no value (got '${value}')`);
      return;
    }
    const values = this.valuesOf(option, value);
    if (values.length === 0 && option.nargs !== "?" && option.nargs !== "*") {
      this.find(base, "error", `${base} needs a value in ${this.v}`);
      return;
    }
    this.checkValues(base, option, values);
  }

  /** The option's values: after '=', or the next token(s) as its nargs takes them. */
  private valuesOf(option: VllmOption, value: string | undefined): string[] {
    const argv = this.argv;
    const values: string[] = [];
    if (value !== undefined) values.push(value);
    else if (option.nargs === "+" || option.nargs === "*" || typeof option.nargs === "number") {
      while (isValueToken(argv[this.i + 1])) values.push(argv[++this.i] as string);
    } else if (isValueToken(argv[this.i + 1])) values.push(argv[++this.i] as string);
    return values;
  }

  /**
   * Values are compared as vLLM compares them: after its rewrite (case, '-'), with argparse's
   * choices or, for an option without, the values its config class accepts.
   */
  private checkValues(base: string, option: VllmOption, values: readonly string[]): void {
    const allowed = allowedValues(option, this.surface);
    if (!allowed) return;
    const norm = (x: string) => normalizeValue(x, allowed.normalize);
    const ok = new Set(allowed.values.map(norm));
    for (const val of values) {
      if (ok.has(norm(val))) continue;
      const near = nearest(val, allowed.values);
      this.find(
        base,
        "error",
        `${base} ${val} is not one of ${this.v}'s values for it${near ? ` (nearest: ${near})` : ""}: ${listChoices(allowed.values)}`,
      );
    }
  }
}

/** `--opt=value`, `--opt.key`, `--opt_name` as argparse reads them. */
function split(tok: string): ArgToken {
  const eq = tok.startsWith("--") ? tok.indexOf("=") : -1;
  const key = eq >= 0 ? tok.slice(0, eq) : tok;
  const value: string | undefined = eq >= 0 ? tok.slice(eq + 1) : undefined;
  const dot = key.indexOf(".");
  const base = (dot >= 0 ? key.slice(0, dot) : key).replace(/^--(.*)$/, (_m, n: string) => `--${n.replace(/_/g, "-")}`);
  return { tok, base, value, dotted: dot >= 0 };
}

/** Why a VLLM_* name is not read by this release (undefined when it is read). */
export function unknownEnv(
  name: string,
  surface: VllmSurface,
  argv: readonly string[] = [],
  origin = "",
): string | undefined {
  if (!name.startsWith("VLLM_")) return undefined;
  if (surface.env.names.includes(name) || name in surface.env.readElsewhere) return undefined;
  const v = `vLLM ${surface.vllm}`;
  const head = `${name}${origin ? ` (${origin})` : ""} is not read by ${v} (its vllm/envs.py has no such name), so it has no effect`;
  const r = surface.env.replacements[name];
  if (r) {
    const passed = argv.some((a, i) => (a === r.option && argv[i + 1] === r.value) || a === `${r.option}=${r.value}`);
    return `${head}: ${r.option} ${r.value} replaced it${passed ? " (the plan already passes it)" : ""} (${r.source})`;
  }
  const hint = Object.entries(surface.env.hints).find(([prefix]) => name.startsWith(prefix));
  if (hint) return `${head}: ${hint[1]}`;
  const near = closest(
    name,
    surface.env.names.filter((n) => n.startsWith("VLLM_")),
  );
  return near ? `${head} (did you mean ${near}?)` : head;
}

/** The one note of a plan whose image's vLLM has no known surface: what it carries and how to get it checked. */
function unchecked(image: ClusterConfig["image"], carried: VllmCarried, known: readonly string[]): ConfigProblem {
  const not = `the vllm serve flags and VLLM_* variables are not checked against vLLM (surfaces known: ${known.join(", ")})`;
  if ("version" in carried)
    return {
      path: image.source === "build" ? "image.vllmRef" : "image.vllm",
      message: `${describeVllm(carried)} has no surface in this package, so ${not}; add one with scripts/vllm-surface.py (docs/configuration.md)`,
    };
  if (image.source === "build")
    return {
      path: "image.vllmRef",
      message:
        `the source build's vLLM is ${carried.ref}, not a release, so ${not}` +
        `; a source build of a release tag (vllmRef: v0.33.0, prs: []) would be checked`,
    };
  if (image.source === "preset")
    return {
      path: "image.name",
      message: `preset ${image.name} carries vLLM ${carried.ref}, a dev build, not a release (${carried.source}), so ${not}`,
    };
  if (!image.vllm)
    return {
      path: "image.vllm",
      message: `is not set, so ${not}; set image.vllm: { version: X.Y.Z } for an image of a vLLM release`,
    };
  return { path: "image.vllm", message: `is a ref (${carried.ref}), not a release, so ${not}` };
}

/** Where a flag of the rendered argv comes from in the config, for the error's path. */
const FLAG_PATHS: Readonly<Record<string, string>> = {
  "--kv-cache-dtype": "serving.profile",
  "--load-format": "serving.profile",
  "--block-size": "serving.profile",
  "--moe-backend": "serving.backends.moe",
  "--linear-backend": "serving.backends.linear",
  "--attention-backend": "serving.backends.attention",
  "--speculative-config": "serving.speculative",
};

export interface SurfaceCheck {
  readonly vllm: ImageVllmPlan;
  readonly errors: ConfigProblem[];
  readonly warnings: ConfigProblem[];
  readonly notes: ConfigProblem[];
}

/** What one node contributes to the check: its serve argv and its environment names. */
export interface NodeRendered {
  readonly serveArgv: readonly string[];
  readonly envNames: readonly string[];
}

/**
 * Check every node's argv and environment against the surface of the vLLM the image carries.
 * Findings are reported once per path and message (both ranks render the same flags).
 */
export function checkAgainstVllm(
  config: ClusterConfig,
  model: ModelSpec,
  nodes: readonly NodeRendered[],
  surfaces: Readonly<Record<string, VllmSurface>> = VLLM_SURFACES,
): SurfaceCheck {
  const carried = imageVllm(config.image);
  const vllm = imageVllmPlan(config.image, surfaces);
  const surface = vllm.surface !== null ? surfaces[vllm.surface] : undefined;
  if (!surface)
    return { vllm, errors: [], warnings: [], notes: [unchecked(config.image, carried, Object.keys(surfaces))] };
  const errors: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (list: ConfigProblem[], p: ConfigProblem) => {
    const k = `${p.path}\n${p.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      list.push(p);
    }
  };
  const extraArgs = config.serving.extraArgs;
  for (const n of nodes) {
    const firstExtra = n.serveArgv.length - extraArgs.length;
    for (const f of checkServeArgv(n.serveArgv, surface)) {
      const fromExtra = extraArgs.length > 0 && f.index >= firstExtra;
      const path = fromExtra ? `serving.extraArgs[${f.index - firstExtra}]` : (FLAG_PATHS[f.flag] ?? "image");
      const origin = fromExtra ? "" : path === "image" ? `; the plan renders it for ${model.variant}` : "";
      add(f.severity === "error" ? errors : warnings, {
        path,
        message: `${f.message}${origin} (the image's vLLM, from ${carried.source})`,
      });
    }
    for (const name of n.envNames) {
      const path =
        name in config.serving.extraEnv ? `serving.extraEnv.${name}` : name in model.env ? "model.variant" : "image";
      const why = unknownEnv(name, surface, n.serveArgv, path === "model.variant" ? `set by ${model.variant}` : "");
      if (why) add(warnings, { path, message: why });
    }
  }
  return { vllm, errors, warnings, notes: [] };
}
