/**
 * Bench charts as standalone SVG (no dependency). Every quantity gets a panel whose y axis fits
 * it (nice-number ticks: 1, 2, 2.5 or 5 x 10^k, at most 8 intervals, so the top tick is at most
 * one step above the largest value), with its unit in the axis title; legends sit under each
 * panel, outside the plot frame. The concurrency chart has four panels (aggregate tok/s,
 * per-stream tok/s, request latency in s, TTFT in ms); the depth chart three (prompt
 * processing tok/s, generation tok/s, TTFT in ms against context depth).
 *
 * Structure a reader (or a test) can rely on: each panel is `<g class="panel" id=...
 * data-unit=... data-ymax=...>` holding one `<rect class="frame">`, `<text class="ytick">`
 * labels, `<circle>` markers whose `<title>` is "series at x: value unit", and `<g
 * class="legend">` entries.
 */
import type { DepthReport } from "./depth";
import type { BenchReport } from "./run";
import { fmtTokens } from "./stats";

export { fmtTokens };

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: readonly { readonly x: number; readonly y: number | null }[];
}

export interface PanelSpec {
  readonly id: string;
  readonly title: string;
  /** Unit of the y values, shown in the axis title and the marker titles (e.g. "tok/s", "ms"). */
  readonly unit: string;
  readonly xLabel: string;
  /** x values in order; `categorical` spaces them evenly (depths 0, 8K, 128K), else linearly. */
  readonly xs: readonly number[];
  readonly categorical?: boolean;
  readonly xTick?: (x: number) => string;
  readonly series: readonly Series[];
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const STEPS = [1, 2, 2.5, 5];

/**
 * Nice y axis for values up to `max`: the smallest step of 1, 2, 2.5 or 5 x 10^k that covers
 * `max` in at most `maxIntervals` intervals; the top is the first multiple of the step at or
 * above `max` (3.07k -> 3.5k in steps of 500, not 5k).
 */
export function niceAxis(max: number, maxIntervals = 8): { top: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { top: 1, step: 0.2 };
  let p = 10 ** Math.floor(Math.log10(max / maxIntervals));
  for (;;) {
    for (const m of STEPS) {
      const step = m * p;
      const n = Math.ceil(max / step - 1e-9);
      if (n <= maxIntervals) return { top: round12(n * step), step };
    }
    p *= 10;
  }
}

function round12(v: number): number {
  return Number.parseFloat(v.toPrecision(12));
}

export function fmtNum(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 10_000) return `${round12(v / 1000)}k`;
  if (a >= 1000) return `${round12(Math.round(v / 10) / 100)}k`;
  if (a >= 100) return String(Math.round(v));
  if (a >= 10) return String(round12(Math.round(v * 10) / 10));
  if (a >= 1) return String(round12(Math.round(v * 100) / 100));
  return String(round12(Number(v.toPrecision(2))));
}

const W = 480;
const H = 330;
const LEFT = 64;
const RIGHT = 16;
const TOP = 30;
const PLOT_H = 200;
const LEGEND_ROW = 16;

/** One panel at (x0, y0), W x H. */
export function renderPanel(x0: number, y0: number, spec: PanelSpec): string {
  const pw = W - LEFT - RIGHT;
  const ph = PLOT_H;
  const fx = x0 + LEFT;
  const fy = y0 + TOP;
  const xs = spec.xs.length ? spec.xs : [0];
  const xmin = Math.min(...xs);
  const xmax = Math.max(...xs);
  const ys = spec.series
    .flatMap((s) => s.points.map((p) => p.y))
    .filter((y): y is number => y !== null && Number.isFinite(y));
  const { top, step } = niceAxis(Math.max(0, ...ys));
  const sx = (x: number) => {
    if (spec.categorical) {
      const i = xs.indexOf(x);
      return fx + (xs.length === 1 ? pw / 2 : (Math.max(i, 0) / (xs.length - 1)) * (pw - 24) + 12);
    }
    return fx + (xmax === xmin ? pw / 2 : ((x - xmin) / (xmax - xmin)) * pw);
  };
  const sy = (y: number) => fy + ph - (y / top) * ph;
  const xTick = spec.xTick ?? ((x: number) => String(x));
  const out: string[] = [];
  out.push(
    `<g class="panel" id="${esc(spec.id)}" data-unit="${esc(spec.unit)}" data-ymax="${top}" data-ystep="${step}">`,
  );
  out.push(
    `<text class="panel-title" x="${fx + pw / 2}" y="${y0 + 18}" text-anchor="middle" font-size="14" font-weight="bold">${esc(spec.title)}</text>`,
  );
  out.push(`<rect class="frame" x="${fx}" y="${fy}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  const n = Math.round(top / step);
  for (let i = 0; i <= n; i++) {
    const v = round12(step * i);
    const y = sy(v).toFixed(1);
    if (i > 0 && i < n) out.push(`<line x1="${fx}" y1="${y}" x2="${fx + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(
      `<text class="ytick" data-value="${v}" x="${fx - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${fmtNum(v)}</text>`,
    );
  }
  for (const x of xs) {
    const px = sx(x).toFixed(1);
    out.push(`<line x1="${px}" y1="${fy + ph}" x2="${px}" y2="${fy + ph + 4}" stroke="#999"/>`);
    out.push(
      `<text class="xtick" x="${px}" y="${fy + ph + 16}" text-anchor="middle" font-size="11">${esc(xTick(x))}</text>`,
    );
  }
  out.push(
    `<text class="xlabel" x="${fx + pw / 2}" y="${fy + ph + 32}" text-anchor="middle" font-size="12">${esc(spec.xLabel)}</text>`,
  );
  const cy = fy + ph / 2;
  out.push(
    `<text class="ylabel" x="${x0 + 14}" y="${cy}" text-anchor="middle" font-size="12" transform="rotate(-90 ${x0 + 14} ${cy})">${esc(spec.unit)}</text>`,
  );
  for (const s of spec.series) {
    const pts = s.points.filter((p): p is { x: number; y: number } => p.y !== null && Number.isFinite(p.y));
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    if (pts.length > 1)
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash}` +
          ` points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ")}"/>`,
      );
    for (const p of pts)
      out.push(
        `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}">` +
          `<title>${esc(`${s.name} at ${xTick(p.x)}: ${fmtNum(p.y)} ${spec.unit}`)}</title></circle>`,
      );
  }
  // Legend: below the x-axis title, outside the frame, two entries per row.
  const ly0 = fy + ph + 48;
  spec.series.forEach((s, i) => {
    const lx = fx + (i % 2) * (pw / 2);
    const ly = ly0 + Math.floor(i / 2) * LEGEND_ROW;
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    out.push(
      `<g class="legend"><line x1="${lx}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>` +
        `<text x="${lx + 24}" y="${ly}" dominant-baseline="middle" font-size="11">${esc(s.name)}</text></g>`,
    );
  });
  out.push("</g>");
  return out.join("\n");
}

/** Panels in a grid of `cols` columns under a one-line title. */
export function renderChart(title: string, panels: readonly PanelSpec[], cols = 2): string {
  const rows = Math.ceil(panels.length / cols);
  const legendRows = Math.max(1, ...panels.map((p) => Math.ceil(p.series.length / 2)));
  const ph = H + Math.max(0, legendRows - 2) * LEGEND_ROW;
  const w = W * Math.min(cols, panels.length);
  const h = 24 + rows * ph;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${w / 2}" y="16" text-anchor="middle" font-size="12" fill="#555">${esc(title)}</text>`,
    ...panels.map((p, i) => renderPanel((i % cols) * W, 24 + Math.floor(i / cols) * ph, p)),
    `</svg>`,
    "",
  ].join("\n");
}

/** The concurrency sweep: aggregate tok/s, per-stream tok/s, latency (s) and TTFT (ms), each on its own axis. */
export function renderSvg(report: BenchReport, baseline?: BenchReport): string {
  const xs = report.levels.map((l) => l.concurrency);
  const s = (f: (l: BenchReport["levels"][number]) => number | null, r: BenchReport = report) =>
    r.levels.map((l) => ({ x: l.concurrency, y: f(l) }));
  const inRange = (p: { x: number }) => xs.includes(p.x);
  const sec = (v: number | null) => (v === null ? null : v / 1000);
  const base = (name: string, color: string, f: (l: BenchReport["levels"][number]) => number | null): Series[] =>
    baseline ? [{ name: `baseline ${name}`, color, dashed: true, points: s(f, baseline).filter(inRange) }] : [];
  const common = { xLabel: "concurrency", xs };
  const panels: PanelSpec[] = [
    {
      id: "throughput",
      title: "Aggregate throughput",
      unit: "tok/s",
      ...common,
      series: [
        { name: "aggregate tok/s", color: "#1f77b4", points: s((l) => l.aggregateTokPerS) },
        ...base("aggregate", "#1f77b4", (l) => l.aggregateTokPerS),
      ],
    },
    {
      id: "per-stream",
      title: "Per-stream throughput",
      unit: "tok/s",
      ...common,
      series: [
        { name: "per-stream tok/s", color: "#2ca02c", points: s((l) => l.perStreamTokPerS) },
        ...base("per-stream", "#2ca02c", (l) => l.perStreamTokPerS),
      ],
    },
    {
      id: "latency",
      title: "Request latency",
      unit: "s",
      ...common,
      series: [
        { name: "latency p50", color: "#d62728", points: s((l) => sec(l.latencyMs.p50)) },
        { name: "latency p99", color: "#ff7f0e", points: s((l) => sec(l.latencyMs.p99)) },
        ...base("latency p50", "#d62728", (l) => sec(l.latencyMs.p50)),
      ],
    },
    {
      id: "ttft",
      title: "Time to first token",
      unit: "ms",
      ...common,
      series: [
        { name: "TTFT p50", color: "#9467bd", points: s((l) => l.ttftMs.p50) },
        { name: "TTFT p99", color: "#8c564b", points: s((l) => l.ttftMs.p99) },
        ...base("TTFT p50", "#9467bd", (l) => l.ttftMs.p50),
      ],
    },
  ];
  return renderChart(
    `${report.model} at ${report.endpoint}: max_tokens ${report.settings.maxTokens}, ${report.startedAt}`,
    panels,
  );
}

/** The depth sweep: pp tok/s, tg tok/s and TTFT (ms) against context depth (evenly spaced). */
export function renderDepthSvg(report: DepthReport): string {
  const xs = report.depths.map((d) => d.depth);
  const s = (f: (d: DepthReport["depths"][number]) => number | null) =>
    report.depths.map((d) => ({ x: d.depth, y: f(d) }));
  const common = { xLabel: "context depth (tokens)", xs, categorical: true, xTick: fmtTokens };
  const { pp, tg } = report.settings;
  return renderChart(
    `${report.model} at ${report.endpoint}: pp${pp}/tg${tg}, ${report.settings.runs} run(s) per depth, ${report.startedAt}`,
    [
      {
        id: "pp",
        title: `Prompt processing (pp${pp})`,
        unit: "tok/s",
        ...common,
        series: [{ name: "pp tok/s (mean)", color: "#1f77b4", points: s((d) => d.ppTokPerS.mean) }],
      },
      {
        id: "tg",
        title: `Token generation (tg${tg})`,
        unit: "tok/s",
        ...common,
        series: [{ name: "tg tok/s (mean)", color: "#2ca02c", points: s((d) => d.tgTokPerS.mean) }],
      },
      {
        id: "ttft",
        title: "Time to first token",
        unit: "ms",
        ...common,
        series: [{ name: "TTFT (mean)", color: "#9467bd", points: s((d) => d.ttftMs.mean) }],
      },
    ],
    3,
  );
}
