/**
 * The charts a person reads: each quantity on an axis that fits it (nice-number top, not a
 * doubling), units in the axis titles (TTFT in ms), legends outside the plot frame. The SVG is
 * parsed the way a reader looks at it: tick labels, marker positions, frame and legend geometry.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DepthReport, DepthRow } from "../../src/bench/depth";
import type { BenchReport, LevelResult } from "../../src/bench/run";
import { niceAxis, renderDepthSvg, renderSvg } from "../../src/bench/svg";
import { xmlBalanced } from "./support";

interface Panel {
  id: string;
  unit: string;
  frame: { x: number; y: number; w: number; h: number };
  yTicks: { label: string; value: number; y: number }[];
  markers: { title: string; cx: number; cy: number }[];
  legend: { ys: number[]; xs: number[]; label: string }[];
  yLabel: string;
}

const num = (s: string | undefined) => Number(s);

/** Split the SVG into its panels and read each one's geometry. */
export function parsePanels(svg: string): Map<string, Panel> {
  const out = new Map<string, Panel>();
  const chunks = svg.split(/(?=<g class="panel")/).slice(1);
  for (const c of chunks) {
    const head = /<g class="panel" id="([^"]+)" data-unit="([^"]*)"/.exec(c);
    const rect = /<rect class="frame" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(c);
    assert.ok(head && rect, "each panel has an id, a unit and a frame");
    const yTicks = [
      ...c.matchAll(/<text class="ytick" data-value="([\d.e+-]+)" x="[\d.]+" y="([\d.]+)"[^>]*>([^<]*)</g),
    ].map((m) => ({ value: num(m[1]), y: num(m[2]), label: m[3] as string }));
    const markers = [...c.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"[^>]*><title>([^<]*)<\/title>/g)].map((m) => ({
      cx: num(m[1]),
      cy: num(m[2]),
      title: m[3] as string,
    }));
    const legend = [...c.matchAll(/<g class="legend">(.*?)<\/g>/g)].map((m) => {
      const g = m[1] as string;
      return {
        ys: [...g.matchAll(/\by[12]?="([\d.]+)"/g)].map((k) => num(k[1])),
        xs: [...g.matchAll(/\bx[12]?="([\d.]+)"/g)].map((k) => num(k[1])),
        label: /<text[^>]*>([^<]*)</.exec(g)?.[1] ?? "",
      };
    });
    out.set(head[1] as string, {
      id: head[1] as string,
      unit: head[2] as string,
      frame: { x: num(rect[1]), y: num(rect[2]), w: num(rect[3]), h: num(rect[4]) },
      yTicks,
      markers,
      legend,
      yLabel: /<text class="ylabel"[^>]*>([^<]*)</.exec(c)?.[1] ?? "",
    });
  }
  return out;
}

/** Where a marker sits in its frame: 0 at the bottom (zero), 1 at the top. */
const height = (p: Panel, m: { cy: number }) => (p.frame.y + p.frame.h - m.cy) / p.frame.h;

function level(c: number, agg: number, perStream: number, latMs: number, ttftMs: number): LevelResult {
  return {
    concurrency: c,
    requests: 16,
    ok: 16,
    errors: 0,
    errorKinds: {},
    errorSamples: [],
    durationS: 1,
    completionTokens: 2048,
    tokensFrom: { usage: 16, deltas: 0 },
    aggregateTokPerS: agg,
    perStreamTokPerS: perStream,
    reqPerS: 1,
    latencyMs: { p50: latMs, p99: latMs * 1.1 },
    ttftMs: { p50: ttftMs, p99: ttftMs * 2 },
    itlMs: { p50: 5, p99: 7 },
    warmup: { requests: c, errors: 0 },
  };
}

function report(levels: LevelResult[]): BenchReport {
  return {
    schemaVersion: 1,
    kind: "dgx-spark-vllm.bench",
    endpoint: "http://127.0.0.1:8000",
    model: "deepseek-v4",
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
    settings: {
      levels: levels.map((l) => l.concurrency),
      maxTokens: 128,
      temperature: 0.7,
      thinking: false,
      warmup: true,
      requestsPerLevel: levels.map(() => 16),
      timeoutsMs: { firstTokenMs: 1, idleMs: 1, totalMs: 1 },
    },
    levels,
    totalErrors: 0,
  };
}

// The recipe-script comparison run that found the bugs: 3.07k aggregate, ~100 tok/s per stream, 50 ms TTFT.
const RECIPE_LIKE = report([
  level(1, 37.2, 37.2, 3440, 52),
  level(6, 612, 102, 1250, 48),
  level(12, 1180, 98.3, 1300, 55),
  level(24, 2210, 92.1, 1390, 61),
  level(32, 3070, 95.9, 1335, 66),
]);

test("nice-number y axis: 3.07k tops out at 3.5k, and no value overshoots by a quarter or more", () => {
  const panels = parsePanels(renderSvg(RECIPE_LIKE));
  const agg = panels.get("throughput");
  assert.ok(agg);
  const top = agg.yTicks[agg.yTicks.length - 1];
  assert.equal(top?.label, "3.5k", `top tick ${top?.label}`);
  assert.deepEqual(
    agg.yTicks.map((t) => t.label),
    ["0", "500", "1k", "1.5k", "2k", "2.5k", "3k", "3.5k"],
  );
  for (let v = 0.013; v < 5e7; v *= 1.37) {
    const { top: t, step } = niceAxis(v);
    assert.ok(t >= v && t < v * 1.25, `max ${v}: top ${t}`);
    assert.ok(Math.round(t / step) <= 8, `max ${v}: ${t / step} intervals`);
  }
});

test("per-stream tok/s has its own axis: ~100 tok/s is drawn high in its panel, not flattened under 3k aggregate", () => {
  const panels = parsePanels(renderSvg(RECIPE_LIKE));
  const per = panels.get("per-stream");
  assert.ok(per, "a per-stream panel");
  assert.equal(per.unit, "tok/s");
  const m = per.markers.find((k) => k.title.startsWith("per-stream tok/s at 6:"));
  assert.ok(m);
  assert.ok(height(per, m) > 0.75, `102 tok/s drawn at ${height(per, m)} of the panel height`);
  assert.ok(!panels.get("throughput")?.markers.some((k) => k.title.startsWith("per-stream")));
});

test("TTFT is drawn in ms on its own axis: 50 ms is well above zero and labelled in ms", () => {
  const panels = parsePanels(renderSvg(RECIPE_LIKE));
  const ttft = panels.get("ttft");
  assert.ok(ttft, "a TTFT panel");
  assert.equal(ttft.unit, "ms");
  assert.equal(ttft.yLabel, "ms");
  const m = ttft.markers.find((k) => k.title === "TTFT p50 at 6: 48 ms");
  assert.ok(m, ttft.markers.map((k) => k.title).join("\n"));
  assert.ok(height(ttft, m) > 0.25, `48 ms drawn at ${height(ttft, m)} of the panel height`);
  const lat = panels.get("latency");
  assert.equal(lat?.unit, "s");
  assert.ok(!lat?.markers.some((k) => k.title.startsWith("TTFT")), "TTFT is not on the seconds axis");
});

test("legends sit outside the plot frame, within the image", () => {
  const svg = renderSvg(RECIPE_LIKE, RECIPE_LIKE);
  assert.ok(xmlBalanced(svg));
  const svgH = num(/<svg[^>]* height="([\d.]+)"/.exec(svg)?.[1]);
  const panels = parsePanels(svg);
  assert.equal(panels.size, 4);
  for (const p of panels.values()) {
    assert.ok(p.legend.length >= 2, `${p.id}: legend entries (with the baseline)`);
    for (const l of p.legend) {
      const below = l.ys.every((y) => y > p.frame.y + p.frame.h + 20);
      assert.ok(below, `${p.id}: legend '${l.label}' at y ${l.ys} overlaps the frame ${JSON.stringify(p.frame)}`);
      assert.ok(
        l.ys.every((y) => y < svgH),
        `${p.id}: legend '${l.label}' is inside the image`,
      );
    }
  }
});

function row(depth: number, pp: number, tg: number, ttft: number): DepthRow {
  const st = (mean: number) => ({ mean, sd: mean / 50 });
  return {
    depth,
    targetPromptTokens: depth + 2048,
    requests: 3,
    ok: 3,
    errors: 0,
    errorKinds: {},
    errorSamples: [],
    promptTokens: st(depth + 2048),
    cachedPromptTokens: 0,
    completionTokens: st(128),
    ppTokPerS: st(pp),
    tgTokPerS: st(tg),
    ttftMs: st(ttft),
    ttfrMs: st(ttft - 20),
    estPptMs: st(ttft - 21),
    e2eLatencyMs: st(ttft + 4000),
  };
}

test("depth chart: pp tok/s, tg tok/s and TTFT in ms against evenly spaced depths labelled 0, 8K, 32K, 128K", () => {
  const r: DepthReport = {
    schemaVersion: 1,
    kind: "dgx-spark-vllm.bench-depth",
    endpoint: "http://127.0.0.1:8000",
    model: "deepseek-v4",
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
    settings: {
      depths: [0, 8192, 32768, 131072],
      pp: 2048,
      tg: 128,
      runs: 3,
      concurrency: 1,
      temperature: 0.7,
      thinking: false,
      ignoreEos: true,
      warmup: true,
      maxModelLen: 1_000_000,
      latencyEstimateMs: 1,
      calibration: { overheadTokens: 6, tokensPerWord: 1, probeWords: 2000 },
      timeoutsMs: { firstTokenMs: 1, idleMs: 1, totalMs: 1 },
    },
    depths: [
      row(0, 2100, 38, 980),
      row(8192, 2050, 36, 5000),
      row(32768, 1800, 33, 19_000),
      row(131072, 1400, 27, 95_000),
    ],
    totalErrors: 0,
  };
  const svg = renderDepthSvg(r);
  assert.ok(xmlBalanced(svg));
  const panels = parsePanels(svg);
  assert.deepEqual([...panels.keys()], ["pp", "tg", "ttft"]);
  assert.deepEqual(
    [...panels.values()].map((p) => p.unit),
    ["tok/s", "tok/s", "ms"],
  );
  assert.deepEqual(
    [...svg.matchAll(/<text class="xtick"[^>]*>([^<]*)</g)].slice(0, 4).map((m) => m[1]),
    ["0", "8K", "32K", "128K"],
  );
  const tg = panels.get("tg");
  assert.ok(tg);
  const xs = tg.markers.map((m) => m.cx);
  const gaps = xs.slice(1).map((x, i) => x - (xs[i] as number));
  assert.ok(Math.max(...gaps) - Math.min(...gaps) < 1, `depths evenly spaced: ${gaps}`);
  assert.ok(
    tg.markers.every((m) => height(tg, m) > 0.5),
    "27-38 tok/s fill their own axis",
  );
  assert.match(svg, /pp tok\/s \(mean\) at 128K: 1.4k tok\/s/);
});
