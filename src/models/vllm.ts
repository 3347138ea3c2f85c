/**
 * Which vLLM an image carries, and the `vllm serve` surface of the released versions we know:
 * every option (type, choices, default, aliases, deprecation) and the environment names vLLM
 * reads, as vLLM itself reports them. The surfaces are generated, never edited: see the
 * `$comment` in each file (scripts/vllm-surface.py, in the venv of scripts/vllm-venv.sh).
 */
import surface0330 from "./vllm-surface/0.33.0.json";

/** The vLLM an image carries: a released version (whose surface may be known) or a ref (none is). */
export type VllmCarried =
  | {
      /** A vLLM release from PyPI/GitHub, e.g. 0.33.0. */
      readonly version: string;
      /** Where this comes from. */
      readonly source: string;
    }
  | {
      /** A commit, PR head or dev build (e.g. `0.28.1rc1.dev345+g4cc0cb6f7`): no release surface. */
      readonly ref: string;
      readonly source: string;
    };

/** One `vllm serve` option as vLLM's argparse holds it. */
export interface VllmOption {
  /** The canonical spelling, e.g. `--max-model-len`. */
  readonly name: string;
  /** Other spellings of the same option, e.g. `-tp`. */
  readonly aliases: readonly string[];
  /** Spellings that turn a boolean option off, e.g. `--disable-prefix-caching`. */
  readonly negations: readonly string[];
  /** Spellings vLLM still accepts but leaves out of --help (kept for backward compatibility). */
  readonly hidden: readonly string[];
  readonly dest: string;
  /** argparse's action: value, true, false, boolean (paired --x/--no-x), append, count, help, ... */
  readonly kind: string;
  readonly takesValue: boolean;
  /** argparse's nargs: null (one value), "?", "*", "+", or a count. */
  readonly nargs: string | number | null;
  /** The converter's name (str, int, human_readable_int, loads, ...), null for flags. */
  readonly type: string | null;
  readonly choices: readonly (string | number | boolean)[] | null;
  readonly default: unknown;
  readonly required: boolean;
  /** How vLLM rewrites a value before comparing it with the choices: "lower", "upper", "lower, - to _". */
  readonly normalize?: string;
  /** Present when vLLM marks the option deprecated: its message, or "deprecated". */
  readonly deprecated?: string;
}

export interface VllmEnvReplacement {
  readonly option: string;
  readonly value: string;
  readonly source: string;
}

/** The committed surface of one vLLM release (src/models/vllm-surface/<version>.json). */
export interface VllmSurface {
  readonly $comment: string;
  readonly vllm: string;
  readonly generator: { readonly command: string; readonly torch: string; readonly python: string };
  readonly serve: {
    readonly allowAbbrev: boolean;
    readonly options: readonly VllmOption[];
    /** Values vLLM checks after parsing (its config classes), for options without argparse choices. */
    readonly laterChecked: Readonly<
      Record<string, { readonly values: readonly string[]; readonly normalize: string | null; readonly source: string }>
    >;
  };
  readonly env: {
    readonly source: string;
    /** Every name in vllm/envs.py environment_variables. */
    readonly names: readonly string[];
    /** VLLM_* names read outside envs.py (name -> the file that reads it). */
    readonly readElsewhere: Readonly<Record<string, string>>;
    /** Recipe-era variables and the released option that replaced them. */
    readonly replacements: Readonly<Record<string, VllmEnvReplacement>>;
    /** Prefix -> where released vLLM chooses that kernel family instead. */
    readonly hints: Readonly<Record<string, string>>;
  };
}

/** The vLLM releases whose surface is committed, by version. */
export const VLLM_SURFACES: Readonly<Record<string, VllmSurface>> = {
  [surface0330.vllm]: surface0330 as unknown as VllmSurface,
};

export const VLLM_SURFACE_VERSIONS = Object.keys(VLLM_SURFACES);

/** One line for the plan: `vLLM 0.33.0` or `vLLM ref 28fef2c70 + PR #41834`. */
export function describeVllm(v: VllmCarried): string {
  return "version" in v ? `vLLM ${v.version}` : `vLLM ref ${v.ref}`;
}
