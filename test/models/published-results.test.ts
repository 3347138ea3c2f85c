/**
 * The published-results table (src/models/published-results.ts): every row names a source and is
 * dated or says when it was read; and every throughput figure the README, the docs and the
 * profiles quote from a public source is a row's figure.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MODEL_VARIANTS } from "../../src/models";
import { formatFigure, PUBLISHED_RESULTS, rowNumbers } from "../../src/models/published-results";
import { PROFILES } from "../../src/profiles";
import { ROOT } from "../support/rendered";

/** A number as written ("2,375.84", "~37") and the value it stands for. */
const NUM = String.raw`\d{1,3}(?:,\d{3})*(?:\.\d+)?|\d+(?:\.\d+)?`;
/** Figures next to a throughput word: "40.65 tok/s decode", "~98-101 aggregate", "191 aggregate". */
const FIGURE = new RegExp(
  String.raw`~?(${NUM})(?:\s*-\s*(${NUM}))?\s*(?:tok/s(?:\s+(?:decode|prefill|single|aggregate))?|single|aggregate)`,
  "g",
);
/** Paragraphs that quote a public source (ours are bench output and synthetic runs). */
const QUOTES_SOURCE = /NVIDIA|recipe|MiaAI|forum|flowtivity|publish|per its/i;

const value = (s: string) => Number(s.replace(/,/g, ""));
const decimals = (s: string) => (s.split(".")[1] ?? "").length;
/** A doc figure matches a row value when the row, rounded as the doc writes it, is that figure. */
const matches = (written: string, row: number) =>
  Math.abs(row - value(written)) <= 0.5 * 10 ** -decimals(written) + 1e-9;

function quotedFigures(): { file: string; text: string; written: string }[] {
  const files = [
    "README.md",
    ...readdirSync(join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  const out: { file: string; text: string; written: string }[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), "utf8");
    // Paragraphs and tables (a table quotes a source when any of its lines, e.g. the header, names one).
    for (const p of text.split(/\n\s*\n/)) {
      if (!QUOTES_SOURCE.test(p) || p.startsWith("    ")) continue;
      for (const m of p.matchAll(FIGURE)) {
        for (const w of [m[1], m[2]]) if (w) out.push({ file, text: m[0], written: w });
      }
    }
  }
  return out;
}

describe("published results table", () => {
  it("every row names its source, says when it was read, and publishes at least one figure", () => {
    const ids = new Set<string>();
    for (const r of PUBLISHED_RESULTS) {
      assert.ok(!ids.has(r.id), `duplicate id ${r.id}`);
      ids.add(r.id);
      assert.ok(r.source.length > 10, `${r.id}: no source`);
      assert.match(r.read, /^\d{4}-\d{2}(-\d{2})?$/, `${r.id}: read date`);
      if (r.measured) assert.match(r.measured, /^\d{4}-\d{2}(-\d{2})?$/, `${r.id}: measured date`);
      assert.ok(rowNumbers(r).length > 0, `${r.id}: no figure`);
      assert.ok(r.variant in MODEL_VARIANTS, `${r.id}: unknown variant ${r.variant}`);
      if (r.aggregate) assert.ok(r.aggregateConcurrency, `${r.id}: aggregate without its concurrency`);
      for (const x of [r.singleStream, r.aggregate, r.prefill]) if (x) assert.ok(x.low <= x.high, r.id);
    }
  });

  it("every throughput figure the README and docs quote from a public source is a row's figure", () => {
    const quoted = quotedFigures();
    assert.ok(quoted.length >= 6, `found only ${quoted.length} quoted figures: the scan is broken`);
    const all = PUBLISHED_RESULTS.flatMap(rowNumbers);
    const strays = quoted.filter((q) => !all.some((n) => matches(q.written, n)));
    assert.deepEqual(
      strays.map((q) => `${q.file}: "${q.text}"`),
      [],
      "figures quoted in the docs that no row of src/models/published-results.ts publishes",
    );
  });

  it("the profiles' reference figures are the recipe's rows for the same max-model-len", () => {
    for (const [name, p] of Object.entries(PROFILES)) {
      const ref = p.reference;
      if (!ref?.singleStreamTokPerS) continue;
      const row = PUBLISHED_RESULTS.find((r) => r.id.startsWith("recipe-") && r.maxModelLen === p.maxModelLen);
      assert.ok(row, `profile ${name}: no recipe row at ${p.maxModelLen}`);
      assert.ok(row.singleStream && ref.singleStreamTokPerS.startsWith(formatFigure(row.singleStream)), name);
      if (ref.aggregateTokPerS) {
        assert.ok(row.aggregate && ref.aggregateTokPerS.startsWith(formatFigure(row.aggregate)), name);
      }
    }
  });

  it("the scan would catch a wrong figure", () => {
    // The same matcher on a made-up quote: 41.65 is no row's figure, 40.65 is.
    const all = PUBLISHED_RESULTS.flatMap(rowNumbers);
    assert.ok(all.some((n) => matches("40.65", n)));
    assert.ok(!all.some((n) => matches("41.65", n)));
    assert.ok(all.some((n) => matches("2,376", n)));
  });
});
