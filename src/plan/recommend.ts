/**
 * `recommend`: from a workload (context x concurrency) to configurations, each planned by the same
 * planner `plan` uses, with the nearest public measurement (src/models/published-results.ts).
 *
 * Enumerates what the config can express for two nodes: model variant x speculative method (the
 * checkpoint's own or off) x KV dtype x image (the default build or a preset) x utilisation 0.80
 * or 0.82 (RECIPE.md: 0.80 default, 0.82 on a clean dedicated node); max-model-len is the target
 * context and max-num-seqs the target concurrency. Each candidate's stack config is planned; it
 * fits when the plan has no error and the worst case (every request at full context) holds the
 * target concurrency.
 */
import { ConfigError } from "../config/errors";
import { IMAGE_PRESET_NAMES, MODEL_VARIANTS } from "../models";
import { PUBLISHED_RESULTS, type PublishedResult, formatFigure } from "../models/published-results";
import { planFromInput } from "./cluster";
import type { ClusterPlan } from "./types";

export type Priority = "latency" | "throughput" | "context";

export interface RecommendTarget {
  readonly context: number;
  readonly concurrency: number;
  readonly priority: Priority;
  /** Only one image preset (or "build"); undefined: every image. */
  readonly image?: string;
}

export interface Measured {
  readonly id: string;
  readonly source: string;
  readonly singleStream?: string;
  readonly aggregate?: string;
  readonly aggregateConcurrency?: number;
  /** How the measured setup differs from this configuration; empty: same settings. */
  readonly differences: readonly string[];
  /** "measured 2026-08-14, 4 months ago" or "undated; read 2026-12". */
  readonly age: string;
}

export interface Candidate {
  readonly id: string;
  readonly variant: string;
  readonly speculative: string;
  readonly kvCacheDtype: string;
  /** Image preset name, or "build" (the default source build). */
  readonly image: string;
  readonly util: number;
  readonly maxModelLen: number;
  readonly maxNumSeqs: number;
  /** The stack config (the `dgx-spark-vllm:` keys without the prefix) planned for it. */
  readonly config: Record<string, unknown>;
  readonly fits: boolean;
  /** Requests of the target context that fit at once (worst case); 0 when the plan fails. */
  readonly fullContextRequests: number;
  readonly kvPoolGiB?: number;
  readonly headroomGiB?: number;
  /** What vLLM 0.33.0 would log, when derived. */
  readonly vllmLog?: { readonly tokens: number; readonly concurrency: number };
  readonly warnings: readonly string[];
  /** Its warnings beyond those every configuration gets (unset secrets and the like). */
  readonly ownWarnings: readonly string[];
  /** Why it is rejected (plan errors, or too few requests fit). */
  readonly rejected?: string;
  /** The nearest public measurement, or undefined: not measured publicly. */
  readonly measured?: Measured;
}

export interface Recommendation {
  readonly target: RecommendTarget;
  readonly top: readonly Candidate[];
  readonly rejected: readonly Candidate[];
  readonly candidates: readonly Candidate[];
  /** Warnings every planned configuration gets (e.g. secrets not set yet). */
  readonly commonWarnings: readonly string[];
  /** Set when nothing fits: one sentence with the nearest feasible targets. */
  readonly impossible?: string;
}

/** "200k" (vLLM: lowercase is decimal) -> 200,000; "256K" -> 262,144; "1M" -> 1,048,576; "1m" -> 1,000,000. */
export function parseTokens(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!m) return undefined;
  const mult = { "": 1, k: 1e3, K: 1024, m: 1e6, M: 1024 * 1024 }[m[2] as "" | "k" | "K" | "m" | "M"];
  const n = Math.round(Number(m[1]) * mult);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** As parseTokens reads it back: 1048576 -> "1M", 262144 -> "256K", 1000000 -> "1m", 200000 -> "200k". */
export function tokensLabel(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)}M`;
  if (n % 1e6 === 0) return `${n / 1e6}m`;
  if (n % 1024 === 0) return `${n / 1024}K`;
  if (n % 1000 === 0) return `${n / 1000}k`;
  return n.toLocaleString("en-US");
}

/** The profile whose other settings (batched tokens, capture size) suit a context. */
const baseProfile = (context: number) => (context <= 262_144 ? "256k" : context <= 524_288 ? "512k" : "1m");

const UTILS = [0.8, 0.82] as const;

/** The nodes and SSH of the example stack: a user replaces them with their own. */
export const EXAMPLE_NODES = {
  ssh: { user: "spark" },
  nodes: [
    {
      name: "spark-head",
      role: "head",
      ssh: { host: "spark-head.local" },
      dataPlane: [{ netdev: "enp1s0f1np1", hca: "rocep1s0f1", address: "10.0.0.1", prefix: 30 }],
    },
    {
      name: "spark-worker",
      role: "worker",
      ssh: { host: "spark-worker.local" },
      dataPlane: [{ netdev: "enp1s0f1np1", hca: "rocep1s0f1", address: "10.0.0.2", prefix: 30 }],
    },
  ],
};

interface Choice {
  variant: keyof typeof MODEL_VARIANTS;
  speculative: string;
  kvCacheDtype: string;
  image: string;
  util: number;
}

function configFor(c: Choice, context: number, concurrency: number): Record<string, unknown> {
  const model = MODEL_VARIANTS[c.variant];
  const cfg: Record<string, unknown> = {
    ...structuredClone(EXAMPLE_NODES),
    serving: {
      profile: {
        base: baseProfile(context),
        maxModelLen: context,
        maxNumSeqs: concurrency,
        kvCacheDtype: c.kvCacheDtype,
      },
      gpuMemoryUtilization: c.util,
      speculative: { method: c.speculative },
    },
  };
  if (c.variant !== "deepseek-v4-flash") cfg.model = { variant: model.variant };
  if (c.image !== "build") cfg.image = { source: "preset", name: c.image };
  return cfg;
}

function ageOf(r: PublishedResult, now: Date): string {
  if (!r.measured) return `undated; read ${r.read}`;
  const [y, m] = r.measured.split("-").map(Number) as [number, number];
  const months = (now.getUTCFullYear() - y) * 12 + (now.getUTCMonth() + 1 - m);
  return `measured ${r.measured}, ${months <= 0 ? "this month" : `${months} month${months === 1 ? "" : "s"} ago`}`;
}

/** The nearest public measurement: same variant and speculative method; fewest other differences. */
export function nearestMeasurement(c: Omit<Candidate, "measured">, now = new Date()): Measured | undefined {
  let best: { r: PublishedResult; diffs: string[] } | undefined;
  for (const r of PUBLISHED_RESULTS) {
    if (r.variant !== c.variant || r.speculative !== c.speculative) continue;
    const diffs: string[] = [];
    if (r.kvCacheDtype !== c.kvCacheDtype) diffs.push(`measured with ${r.kvCacheDtype} KV`);
    if (r.maxModelLen !== c.maxModelLen)
      diffs.push(
        `measured at max-model-len ${r.maxModelLen === undefined ? "not published" : r.maxModelLen.toLocaleString("en-US")}`,
      );
    if (r.maxNumSeqs !== c.maxNumSeqs)
      diffs.push(`measured with ${r.maxNumSeqs === undefined ? "unpublished" : r.maxNumSeqs} max-num-seqs`);
    if (r.gpuMemoryUtilization !== undefined && r.gpuMemoryUtilization !== c.util)
      diffs.push(`measured at utilisation ${r.gpuMemoryUtilization}`);
    if (r.caveat) diffs.push(r.caveat);
    // The KV dtype changes speed the most: a row with the same dtype wins over fewer other
    // differences; then fewer differences; then the nearer max-model-len.
    const rank = (d: string[]) => d.length + (d.some((x) => x.endsWith(" KV")) ? 10 : 0);
    const far = (x: PublishedResult) =>
      x.maxModelLen === undefined ? Number.POSITIVE_INFINITY : Math.abs(Math.log(x.maxModelLen / c.maxModelLen));
    if (!best || rank(diffs) < rank(best.diffs) || (rank(diffs) === rank(best.diffs) && far(r) < far(best.r)))
      best = { r, diffs };
  }
  if (!best) return undefined;
  const r = best.r;
  return {
    id: r.id,
    source: r.source,
    ...(r.singleStream ? { singleStream: formatFigure(r.singleStream) } : {}),
    ...(r.aggregate ? { aggregate: formatFigure(r.aggregate) } : {}),
    ...(r.aggregateConcurrency ? { aggregateConcurrency: r.aggregateConcurrency } : {}),
    differences: best.diffs,
    age: ageOf(r, now),
  };
}

function worstCase(plan: ClusterPlan): number {
  return Math.min(
    ...plan.memory.nodes.map((b) =>
      Math.min(b.maxFullContextRequests, b.vllm?.fullContextRequests ?? Number.POSITIVE_INFINITY),
    ),
  );
}

/** Plan one candidate. */
export function evaluate(c: Choice, context: number, concurrency: number, now = new Date()): Candidate {
  const config = configFor(c, context, concurrency);
  const id = [
    c.variant.replace("deepseek-v4-flash", "flash"),
    c.speculative,
    c.kvCacheDtype,
    c.image,
    `u${c.util}`,
  ].join("/");
  const base = {
    id,
    variant: c.variant,
    speculative: c.speculative,
    kvCacheDtype: c.kvCacheDtype,
    image: c.image,
    util: c.util,
    maxModelLen: context,
    maxNumSeqs: concurrency,
    config,
  };
  let plan: ClusterPlan;
  try {
    plan = planFromInput(config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const why = e.problems.map((p) => `${p.path}: ${p.message}`).join("; ");
    const c0 = { ...base, fits: false, fullContextRequests: 0, warnings: [], ownWarnings: [], rejected: why };
    return { ...c0, ...withMeasured(c0, now) };
  }
  const n = worstCase(plan);
  const b = plan.memory.nodes[0];
  const fits = n >= concurrency;
  const c1 = {
    ...base,
    fits,
    fullContextRequests: n,
    ...(b ? { kvPoolGiB: b.kvPoolGiB, headroomGiB: b.headroomGiB } : {}),
    ...(b?.vllm ? { vllmLog: { tokens: b.vllm.printedTokens, concurrency: b.vllm.printedConcurrency } } : {}),
    warnings: plan.warnings.map((w) => `${w.path}: ${w.message}`),
    ownWarnings: plan.warnings.map((w) => `${w.path}: ${w.message}`),
    ...(fits
      ? {}
      : {
          rejected: `holds ${n} x ${tokensLabel(context)} at once (worst case, every request at full length), not ${concurrency}`,
        }),
  };
  return { ...c1, ...withMeasured(c1, now) };
}

const withMeasured = (c: Omit<Candidate, "measured">, now: Date) => {
  const m = nearestMeasurement(c, now);
  return m ? { measured: m } : {};
};

/** Every choice the config can express for two nodes (optionally one image). */
export function choices(image?: string): Choice[] {
  const images = image ? [image] : ["build", ...IMAGE_PRESET_NAMES];
  const out: Choice[] = [];
  for (const [name, spec] of Object.entries(MODEL_VARIANTS)) {
    for (const speculative of [...spec.speculativeMethods, "off"]) {
      for (const kvCacheDtype of Object.keys(spec.kvCacheDtypes)) {
        for (const img of images) {
          for (const util of UTILS) {
            out.push({ variant: name as keyof typeof MODEL_VARIANTS, speculative, kvCacheDtype, image: img, util });
          }
        }
      }
    }
  }
  return out;
}

const num = (s: string | undefined) => (s ? Number(s.replace(/[~,]/g, "").split("-").at(-1)) : undefined);

/** Order for a priority: measured figures first where the priority has one; never an estimate. */
function score(c: Candidate, p: Priority): number[] {
  const single = num(c.measured?.singleStream) ?? -1;
  const agg = num(c.measured?.aggregate) ?? -1;
  const spare = c.fullContextRequests - c.maxNumSeqs;
  const head = c.headroomGiB ?? 0;
  const clean = c.ownWarnings.length === 0 ? 1 : 0;
  if (p === "latency") return [clean, single, agg, head];
  if (p === "throughput") return [clean, agg, single, spare, head];
  return [clean, spare, head, single];
}

const byScore = (p: Priority) => (a: Candidate, b: Candidate) => {
  const x = score(a, p);
  const y = score(b, p);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (y[i] as number) - (x[i] as number);
  return a.id.localeCompare(b.id);
};

/** The nearest feasible targets: fewer requests at this context, or a shorter context at this concurrency. */
function nearestFeasible(t: RecommendTarget, now: Date): string {
  const cs = choices(t.image);
  const fitsAt = (context: number, concurrency: number) => cs.some((c) => evaluate(c, context, concurrency, now).fits);
  let most = 0;
  for (let n = t.concurrency - 1; n >= 1; n--) {
    if (fitsAt(t.context, n)) {
      most = n;
      break;
    }
  }
  // The longest context (in 1K steps) that holds the concurrency: binary search.
  let lo = 0;
  let hi = Math.floor(t.context / 1024);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fitsAt(mid * 1024, t.concurrency)) lo = mid;
    else hi = mid - 1;
  }
  const target = `${t.concurrency} x ${tokensLabel(t.context)} tokens does not fit`;
  const options: string[] = [];
  if (most >= 1) options.push(`at most ${most} x ${tokensLabel(t.context)}`);
  if (lo >= 1) options.push(`${t.concurrency} x ${tokensLabel(lo * 1024)}`);
  return options.length > 0
    ? `${target}: ${options.join(", or ")}`
    : `${target}, and neither fewer requests at this context nor a shorter context at this concurrency fits`;
}

export function recommend(t: RecommendTarget, now = new Date()): Recommendation {
  const planned = choices(t.image).map((c) => evaluate(c, t.context, t.concurrency, now));
  const ran = planned.filter((c) => c.warnings.length > 0);
  const commonWarnings = ran.length
    ? (ran[0] as Candidate).warnings.filter((w) => ran.every((c) => c.warnings.includes(w)))
    : [];
  const candidates = planned.map((c) => ({ ...c, ownWarnings: c.warnings.filter((w) => !commonWarnings.includes(w)) }));
  const ok = candidates.filter((c) => c.fits).sort(byScore(t.priority));
  const rejected = candidates.filter((c) => !c.fits);
  if (ok.length === 0)
    return { target: t, top: [], rejected, candidates, commonWarnings, impossible: nearestFeasible(t, now) };
  return { target: t, top: ok.slice(0, 3), rejected, candidates, commonWarnings };
}

/** One line on why a candidate is on the list. */
export function why(c: Candidate, context: number): string {
  const parts = [
    `fits ${c.fullContextRequests} x ${tokensLabel(context)} at once (worst case` +
      `${c.vllmLog ? "" : `; vLLM's block count not derived for ${c.variant} ${c.kvCacheDtype}, counted at its bytes per token`})`,
  ];
  const m = c.measured;
  if (!m) parts.push("not measured publicly");
  else {
    const figs = [
      m.singleStream && `${m.singleStream} tok/s at c1`,
      m.aggregate && `${m.aggregate} tok/s aggregate at c${m.aggregateConcurrency}`,
    ].filter(Boolean);
    parts.push(
      `measured ${figs.join(", ")} by ${m.source} (${m.age}${m.differences.length ? `; ${m.differences.join(", ")}` : ""})`,
    );
  }
  parts.push(c.image === "build" ? "image: the default source build" : `needs image ${c.image}`);
  return parts.join("; ");
}
