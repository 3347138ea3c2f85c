/**
 * The bench chart as a standalone SVG (no dependency): left, throughput (aggregate and per-stream
 * tok/s) against concurrency; right, latency (p50/p99 and TTFT p50, seconds) against concurrency.
 * A baseline's aggregate throughput and p50 latency are drawn dashed when given.
 */
import type { BenchReport } from "./run";

interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: readonly { readonly x: number; readonly y: number | null }[];
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** 1, 2, 5 x 10^k at or above v. */
function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmtTick(v: number): string {
  if (v === 0) return "0";
  if (Math.abs(v) >= 1000) return `${Math.round(v / 100) / 10}k`;
  if (Math.abs(v) < 1) return v.toFixed(2);
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function panel(
  x0: number,
  y0: number,
  w: number,
  h: number,
  title: string,
  yLabel: string,
  xs: readonly number[],
  series: readonly Series[],
): string {
  const left = 56;
  const bottom = 40;
  const top = 28;
  const right = 12;
  const pw = w - left - right;
  const ph = h - top - bottom;
  const xmin = Math.min(...xs);
  const xmax = Math.max(...xs);
  const ys = series
    .flatMap((s) => s.points.map((p) => p.y))
    .filter((y): y is number => y !== null && Number.isFinite(y));
  const ymax = niceCeil(Math.max(0, ...ys) * 1.05);
  const sx = (x: number) => x0 + left + (xmax === xmin ? pw / 2 : ((x - xmin) / (xmax - xmin)) * pw);
  const sy = (y: number) => y0 + top + ph - (y / ymax) * ph;
  const out: string[] = [];
  out.push(
    `<text x="${x0 + left + pw / 2}" y="${y0 + 16}" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  );
  out.push(`<rect x="${x0 + left}" y="${y0 + top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (let i = 0; i <= 5; i++) {
    const v = (ymax * i) / 5;
    const y = sy(v).toFixed(1);
    out.push(`<line x1="${x0 + left}" y1="${y}" x2="${x0 + left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${x0 + left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${fmtTick(v)}</text>`,
    );
  }
  for (const x of xs) {
    const px = sx(x).toFixed(1);
    out.push(`<line x1="${px}" y1="${y0 + top + ph}" x2="${px}" y2="${y0 + top + ph + 4}" stroke="#999"/>`);
    out.push(`<text x="${px}" y="${y0 + top + ph + 16}" text-anchor="middle" font-size="11">${x}</text>`);
  }
  out.push(`<text x="${x0 + left + pw / 2}" y="${y0 + h - 6}" text-anchor="middle" font-size="12">concurrency</text>`);
  out.push(
    `<text x="${x0 + 14}" y="${y0 + top + ph / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 ${x0 + 14} ${y0 + top + ph / 2})">${esc(yLabel)}</text>`,
  );
  series.forEach((s, si) => {
    const pts = s.points.filter((p): p is { x: number; y: number } => p.y !== null && Number.isFinite(p.y));
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    if (pts.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ")}"/>`,
      );
    }
    for (const p of pts)
      out.push(
        `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(`${s.name} at ${p.x}: ${fmtTick(p.y)}`)}</title></circle>`,
      );
    const ly = y0 + top + 8 + si * 16;
    out.push(
      `<line x1="${x0 + left + 8}" y1="${ly}" x2="${x0 + left + 28}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
    );
    out.push(`<text x="${x0 + left + 32}" y="${ly}" dominant-baseline="middle" font-size="11">${esc(s.name)}</text>`);
  });
  return out.join("\n");
}

export function renderSvg(report: BenchReport, baseline?: BenchReport): string {
  const w = 960;
  const h = 400;
  const xs = report.levels.map((l) => l.concurrency);
  if (xs.length === 0) xs.push(1);
  const s = (f: (l: BenchReport["levels"][number]) => number | null, r: BenchReport = report) =>
    r.levels.map((l) => ({ x: l.concurrency, y: f(l) }));
  const sec = (v: number | null) => (v === null ? null : v / 1000);
  const through: Series[] = [
    { name: "aggregate tok/s", color: "#1f77b4", points: s((l) => l.aggregateTokPerS) },
    { name: "per-stream tok/s", color: "#2ca02c", points: s((l) => l.perStreamTokPerS) },
  ];
  const lat: Series[] = [
    { name: "latency p50", color: "#d62728", points: s((l) => sec(l.latencyMs.p50)) },
    { name: "latency p99", color: "#ff7f0e", points: s((l) => sec(l.latencyMs.p99)) },
    { name: "TTFT p50", color: "#9467bd", points: s((l) => sec(l.ttftMs.p50)) },
  ];
  if (baseline) {
    const inRange = (p: { x: number }) => xs.includes(p.x);
    through.push({
      name: "baseline aggregate",
      color: "#1f77b4",
      dashed: true,
      points: s((l) => l.aggregateTokPerS, baseline).filter(inRange),
    });
    lat.push({
      name: "baseline latency p50",
      color: "#d62728",
      dashed: true,
      points: s((l) => sec(l.latencyMs.p50), baseline).filter(inRange),
    });
  }
  const title = `${report.model} at ${report.endpoint}: max_tokens ${report.settings.maxTokens}, ${report.startedAt}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h + 24}" viewBox="0 0 ${w} ${h + 24}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${w / 2}" y="16" text-anchor="middle" font-size="12" fill="#555">${esc(title)}</text>`,
    `<g id="throughput">`,
    panel(0, 24, w / 2, h, "Throughput", "tokens/s", xs, through),
    `</g>`,
    `<g id="latency">`,
    panel(w / 2, 24, w / 2, h, "Latency", "seconds", xs, lat),
    `</g>`,
    `</svg>`,
    "",
  ].join("\n");
}
