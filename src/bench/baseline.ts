/** Compare a bench report against an earlier one (`bench --json` output) level by level. */
import type { BenchReport, LevelResult } from "./run";

export type ComparedMetric =
  | "aggregateTokPerS"
  | "perStreamTokPerS"
  | "reqPerS"
  | "latencyP50Ms"
  | "ttftP50Ms"
  | "errors";

export interface Regression {
  readonly concurrency: number;
  readonly metric: ComparedMetric;
  readonly baseline: number;
  readonly current: number | null;
  /** Relative change, signed so that positive is worse (e.g. 0.25 = 25% worse). */
  readonly worseBy: number | null;
}

export interface BaselineComparison {
  readonly baselineFile: string;
  /** Settings in which this run and the baseline differ (empty: like for like), one phrase each. */
  readonly settingsDiffer: readonly string[];
  readonly tolerance: number;
  readonly comparedLevels: readonly number[];
  /** Levels in this run the baseline does not have. */
  readonly missingLevels: readonly number[];
  readonly regressions: readonly Regression[];
}

/** Latency changes smaller than this many ms are timer noise, never a regression. */
export const LATENCY_SLACK_MS = 5;

const METRICS: readonly {
  metric: ComparedMetric;
  get: (l: LevelResult) => number | null;
  higherIsBetter: boolean;
  slack: number;
}[] = [
  { metric: "aggregateTokPerS", get: (l) => l.aggregateTokPerS, higherIsBetter: true, slack: 0 },
  { metric: "perStreamTokPerS", get: (l) => l.perStreamTokPerS, higherIsBetter: true, slack: 0 },
  { metric: "reqPerS", get: (l) => l.reqPerS, higherIsBetter: true, slack: 0 },
  { metric: "latencyP50Ms", get: (l) => l.latencyMs.p50, higherIsBetter: false, slack: LATENCY_SLACK_MS },
  { metric: "ttftP50Ms", get: (l) => l.ttftMs.p50, higherIsBetter: false, slack: LATENCY_SLACK_MS },
];

/** Check a parsed JSON file is a bench report; returns a message when it is not. */
export function validateBaseline(doc: unknown): string | undefined {
  if (!doc || typeof doc !== "object") return "is not a JSON object";
  const levels = (doc as { levels?: unknown }).levels;
  const kind = (doc as { kind?: unknown }).kind;
  if (kind === "dgx-spark-vllm.bench-depth")
    return "is a depth report (bench --depths): a concurrency run compares only with a concurrency report";
  if (!Array.isArray(levels) || levels.length === 0)
    return "has no `levels` array (write one with `bench --json > FILE`)";
  for (const l of levels) {
    if (!l || typeof l !== "object" || typeof (l as { concurrency?: unknown }).concurrency !== "number")
      return "has a level without a numeric `concurrency`";
  }
  return undefined;
}

/** The settings that decide what a bench run measures (a subset of BenchReport). */
export interface ComparableSettings {
  readonly model?: string;
  readonly settings: {
    readonly maxTokens: number;
    readonly temperature: number;
    readonly warmup: boolean;
    readonly thinking?: boolean;
    readonly levels: readonly number[];
    readonly requestsPerLevel: readonly number[];
  };
}

/**
 * Settings in which `current` and `baseline` differ, as phrases naming both values (e.g.
 * "max_tokens 256 (baseline 128)"). Requests per level are compared at the levels both have;
 * endpoints may differ (comparing two deployments is the point).
 */
export function settingsDifferences(current: ComparableSettings, baseline: ComparableSettings): string[] {
  const out: string[] = [];
  const a = current.settings;
  const b = baseline.settings ?? ({} as Partial<ComparableSettings["settings"]>);
  if (current.model !== undefined && baseline.model !== undefined && current.model !== baseline.model)
    out.push(`model ${current.model} (baseline ${baseline.model})`);
  if (b.maxTokens !== undefined && a.maxTokens !== b.maxTokens)
    out.push(`max_tokens ${a.maxTokens} (baseline ${b.maxTokens})`);
  if (b.temperature !== undefined && a.temperature !== b.temperature)
    out.push(`temperature ${a.temperature} (baseline ${b.temperature})`);
  if (b.warmup !== undefined && a.warmup !== b.warmup)
    out.push(`warm-up ${a.warmup ? "on" : "off"} (baseline ${b.warmup ? "on" : "off"})`);
  if (b.thinking !== undefined && a.thinking !== undefined && a.thinking !== b.thinking)
    out.push(`thinking ${a.thinking ? "on" : "off"} (baseline ${b.thinking ? "on" : "off"})`);
  if (Array.isArray(b.levels) && Array.isArray(b.requestsPerLevel)) {
    const reqs: string[] = [];
    a.levels.forEach((c, i) => {
      const j = (b.levels as readonly number[]).indexOf(c);
      const mine = a.requestsPerLevel[i];
      const theirs = j >= 0 ? (b.requestsPerLevel as readonly number[])[j] : undefined;
      if (theirs !== undefined && mine !== undefined && mine !== theirs) reqs.push(`c=${c}: ${mine} vs ${theirs}`);
    });
    if (reqs.length) out.push(`requests per level (${reqs.join(", ")} in the baseline)`);
  }
  return out;
}

/**
 * A metric regresses when it is worse than the baseline by more than `tolerance` (a fraction);
 * latency changes under LATENCY_SLACK_MS never count; errors regress when there are more than in
 * the baseline; a metric that has become unmeasurable
 * (null: every request failed) regresses too.
 */
export function compareToBaseline(
  current: BenchReport,
  baseline: BenchReport,
  tolerance: number,
  baselineFile = "baseline",
): BaselineComparison {
  const regressions: Regression[] = [];
  const compared: number[] = [];
  const missing: number[] = [];
  for (const cur of current.levels) {
    const base = baseline.levels.find((l) => l.concurrency === cur.concurrency);
    if (!base) {
      missing.push(cur.concurrency);
      continue;
    }
    compared.push(cur.concurrency);
    for (const m of METRICS) {
      const b = m.get(base);
      const c = m.get(cur);
      if (b === null || b === undefined || !Number.isFinite(b) || b <= 0) continue;
      if (c === null || c === undefined || !Number.isFinite(c)) {
        regressions.push({ concurrency: cur.concurrency, metric: m.metric, baseline: b, current: null, worseBy: null });
        continue;
      }
      const worseBy = m.higherIsBetter ? (b - c) / b : (c - b) / b;
      if (worseBy > tolerance && Math.abs(c - b) > m.slack)
        regressions.push({
          concurrency: cur.concurrency,
          metric: m.metric,
          baseline: b,
          current: c,
          worseBy: Math.round(worseBy * 1000) / 1000,
        });
    }
    const be = typeof base.errors === "number" ? base.errors : 0;
    if (cur.errors > be)
      regressions.push({
        concurrency: cur.concurrency,
        metric: "errors",
        baseline: be,
        current: cur.errors,
        worseBy: null,
      });
  }
  return {
    baselineFile,
    settingsDiffer: settingsDifferences(current, baseline),
    tolerance,
    comparedLevels: compared,
    missingLevels: missing,
    regressions,
  };
}
