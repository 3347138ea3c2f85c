/**
 * The dashboard's panels drawn as one SVG from Prometheus query_range results (Grafana is not in
 * Debian, so this is how the README shows what the panels plot). No dependency: polylines per
 * series, a y axis from 0 to the series' maximum, the panel's title and legend.
 */

export interface PanelData {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly { readonly name: string; readonly points: readonly (readonly [number, number])[] }[];
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function fmt(v: number, unit: string): string {
  if (unit === "percentunit") return `${(v * 100).toFixed(0)}%`;
  if (unit === "bytes" || unit === "Bps") {
    const g = v / 2 ** 30;
    if (g >= 1) return `${g.toFixed(1)} GiB${unit === "Bps" ? "/s" : ""}`;
    return `${(v / 1024).toFixed(0)} KiB${unit === "Bps" ? "/s" : ""}`;
  }
  if (unit === "s") return v < 1 ? `${(v * 1000).toFixed(0)} ms` : `${v.toFixed(1)} s`;
  return v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2);
}

export function renderDashboardSvg(panels: readonly PanelData[], caption: string): string {
  const W = 460;
  const H = 215;
  const cols = 2;
  const rows = Math.ceil(panels.length / cols);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * W + 20}" height="${rows * H + 50}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="13" font-weight="bold">${esc(caption)}</text>`,
  ];
  panels.forEach((p, i) => {
    const x0 = 10 + (i % cols) * W;
    const y0 = 35 + Math.floor(i / cols) * H;
    const px = x0 + 60;
    const py = y0 + 22;
    const pw = W - 80;
    const ph = H - 85;
    const all = p.series.flatMap((s) => s.points);
    const tMin = Math.min(...all.map((q) => q[0]));
    const tMax = Math.max(...all.map((q) => q[0]));
    const vMax = Math.max(1e-12, ...all.map((q) => q[1]));
    out.push(
      `<g class="panel">`,
      `<rect x="${x0}" y="${y0}" width="${W - 10}" height="${H - 10}" fill="none" stroke="#ccc"/>`,
      `<text x="${x0 + 8}" y="${y0 + 15}" font-weight="bold">${esc(p.title)}</text>`,
      `<line x1="${px}" y1="${py + ph}" x2="${px + pw}" y2="${py + ph}" stroke="#999"/>`,
      `<line x1="${px}" y1="${py}" x2="${px}" y2="${py + ph}" stroke="#999"/>`,
      `<text x="${px - 4}" y="${py + 4}" text-anchor="end">${esc(fmt(vMax, p.unit))}</text>`,
      `<text x="${px - 4}" y="${py + ph}" text-anchor="end">0</text>`,
    );
    // Legend: as many names a row as fit (about 6 px a character).
    const colW = Math.max(...p.series.map((s) => s.name.length)) * 6 + 14;
    const perRow = Math.max(1, Math.floor((W - 70) / colW));
    p.series.forEach((s, k) => {
      const color = COLORS[k % COLORS.length] as string;
      const pts = s.points
        .map(([t, v]) => {
          const x = tMax > tMin ? px + ((t - tMin) / (tMax - tMin)) * pw : px + pw / 2;
          const y = py + ph - (Math.max(0, v) / vMax) * ph;
          return `${x.toFixed(1)},${y.toFixed(1)}`;
        })
        .join(" ");
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>`);
      out.push(
        `<text x="${px + (k % perRow) * colW}" y="${py + ph + 16 + Math.floor(k / perRow) * 13}" fill="${color}">${esc(s.name)}</text>`,
      );
    });
    out.push("</g>");
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
