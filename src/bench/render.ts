/** Human output of a bench report: a fixed-width table, error breakdown and regressions. */
import type { BaselineComparison, ComparedMetric } from "./baseline";
import type { BenchReport, LevelResult } from "./run";

function num(v: number | null, digits: number): string {
  return v === null || !Number.isFinite(v) ? "-" : v.toFixed(digits);
}

function secs(ms: number | null): string {
  return ms === null || !Number.isFinite(ms) ? "-" : `${(ms / 1000).toFixed(2)}s`;
}

function millis(ms: number | null): string {
  return ms === null || !Number.isFinite(ms) ? "-" : `${ms.toFixed(ms < 10 ? 1 : 0)}ms`;
}

/** A compared value with its unit, as the table shows it (latency in s, TTFT in ms). */
function withUnit(metric: ComparedMetric, v: number | null): string {
  if (v === null || !Number.isFinite(v)) return "-";
  switch (metric) {
    case "aggregateTokPerS":
    case "perStreamTokPerS":
      return `${v.toFixed(1)} tok/s`;
    case "reqPerS":
      return `${v.toFixed(2)} req/s`;
    case "latencyP50Ms":
      return secs(v);
    case "ttftP50Ms":
      return millis(v);
    case "errors":
      return `${v} error(s)`;
  }
}

const METRIC_COLUMN: Record<ComparedMetric, string> = {
  aggregateTokPerS: "agg tok/s",
  perStreamTokPerS: "tok/s/stream",
  reqPerS: "req/s",
  latencyP50Ms: "lat p50",
  ttftP50Ms: "TTFT p50",
  errors: "errors",
};

export function renderTable(report: BenchReport, comparison?: BaselineComparison): string {
  const s = report.settings;
  const lines: string[] = [];
  lines.push(
    `bench ${report.endpoint}  model ${report.model}  max_tokens ${s.maxTokens}` +
      `  temperature ${s.temperature}  thinking off  ${s.warmup ? "warm-up discarded" : "no warm-up"}`,
  );
  lines.push(...levelRows(report, comparison));
  lines.push(...errorLines(report));
  const fromDeltas = report.levels.reduce((s, l) => s + l.tokensFrom.deltas, 0);
  if (fromDeltas > 0)
    lines.push(
      `note: ${fromDeltas} response(s) had no usage chunk; their tokens were counted as content deltas (undercounts with MTP)`,
    );
  if (comparison) lines.push("", ...comparisonLines(comparison));
  return `${lines.join("\n")}\n`;
}

/** The header and one row per level, regressed cells marked with '!'. */
function levelRows(report: BenchReport, comparison: BaselineComparison | undefined): string[] {
  const lines: string[] = [];
  const head = [
    "conc",
    "reqs",
    "errors",
    "agg tok/s",
    "tok/s/stream",
    "req/s",
    "lat p50",
    "lat p99",
    "TTFT p50",
    "TTFT p99",
    "ITL p50",
    "ITL p99",
  ];
  const marked = (l: LevelResult, m: ComparedMetric, text: string) =>
    comparison?.regressions.some((r) => r.concurrency === l.concurrency && r.metric === m) ? `${text}!` : text;
  const rows = report.levels.map((l) => [
    String(l.concurrency),
    String(l.requests),
    marked(l, "errors", String(l.errors)),
    marked(l, "aggregateTokPerS", num(l.aggregateTokPerS, 1)),
    marked(l, "perStreamTokPerS", num(l.perStreamTokPerS, 1)),
    marked(l, "reqPerS", num(l.reqPerS, 2)),
    marked(l, "latencyP50Ms", secs(l.latencyMs.p50)),
    secs(l.latencyMs.p99),
    marked(l, "ttftP50Ms", millis(l.ttftMs.p50)),
    millis(l.ttftMs.p99),
    millis(l.itlMs.p50),
    millis(l.itlMs.p99),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: readonly string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join("  ");
  lines.push(fmt(head));
  for (const r of rows) lines.push(fmt(r));
  return lines;
}

/** Per failing level, its error kinds and samples. */
function errorLines(report: BenchReport): string[] {
  const lines: string[] = [];
  const failing = report.levels.filter((l) => l.errors > 0);
  if (failing.length > 0) {
    lines.push("");
    lines.push(`ERRORS: ${report.totalErrors} request(s) failed`);
    for (const l of failing) {
      lines.push(
        `  c=${l.concurrency}: ${Object.entries(l.errorKinds)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
      );
      for (const m of l.errorSamples) lines.push(`    e.g. ${m}`);
    }
  }
  return lines;
}

/** The comparison with a baseline: different settings, missing levels, each regression. */
function comparisonLines(comparison: BaselineComparison): string[] {
  const lines: string[] = [];
  if (comparison.settingsDiffer.length)
    lines.push(
      `WARNING: ${comparison.baselineFile} was run with different settings: ${comparison.settingsDiffer.join("; ")}. The comparison is not like for like.`,
    );
  const pct = Math.round(comparison.tolerance * 1000) / 10;
  if (comparison.missingLevels.length)
    lines.push(
      `baseline ${comparison.baselineFile} has no level(s) ${comparison.missingLevels.join(", ")}: not compared`,
    );
  if (comparison.regressions.length === 0) {
    lines.push(
      `baseline ${comparison.baselineFile}: no regression beyond ${pct}% at level(s) ${comparison.comparedLevels.join(", ") || "(none)"}`,
    );
  } else {
    lines.push(`REGRESSED against ${comparison.baselineFile} (tolerance ${pct}%, marked !):`);
    for (const r of comparison.regressions) {
      const what = METRIC_COLUMN[r.metric];
      const change =
        r.worseBy === null
          ? r.current === null
            ? "no longer measurable"
            : ""
          : `${Math.round(r.worseBy * 1000) / 10}% worse`;
      lines.push(
        `  c=${r.concurrency} ${what}: ${withUnit(r.metric, r.baseline)} -> ${withUnit(r.metric, r.current)}${change ? ` (${change})` : ""}`,
      );
    }
  }
  return lines;
}
