/**
 * `recommend` (src/plan/recommend.ts, src/cli/recommend.ts): what a user sees, the stack file it
 * writes planned by `plan`, impossible targets, and properties over random targets.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../../src/cli/main";
import { planFromInput } from "../../src/plan";
import { choices, evaluate, nearestMeasurement, parseTokens, recommend } from "../../src/plan/recommend";

const run = (argv: string[]) => {
  let out = "";
  let err = "";
  const code = runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
};
const dir = mkdtempSync(join(tmpdir(), "dsv-recommend-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("recommend, as a user runs it", () => {
  it("200k x 4: three recommendations with reasons, the rest rejected with theirs; --write gives a stack plan accepts", () => {
    const file = join(dir, "Pulumi.rec.yaml");
    const r = run(["recommend", "--context", "200k", "--concurrency", "4", "--write", file]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Target {5}4 x 200k tokens \(200,000\) at once, priority latency/m);
    const top = [...r.out.matchAll(/^ {2}(\d)\. (\S+)\n {5}(fits \d+ x 200k at once.*)$/gm)];
    assert.equal(top.length, 3, r.out);
    for (const [, , , reason] of top) {
      assert.match(reason as string, /measured .* tok\/s .* by |not measured publicly/);
      assert.match(reason as string, /needs image |image: the default source build/);
    }
    const rejected = [...r.out.matchAll(/^ {2}- (\S+): (.+)$/gm)].filter(([, id]) => id?.includes("/"));
    assert.ok(rejected.length > 0);
    for (const [, id, why] of rejected) assert.ok((why as string).length > 20, `${id}: no reason`);

    // The written file: a comment header with the inputs and the source, planned cleanly by `plan`.
    const text = readFileSync(file, "utf8");
    assert.match(text, /^# Written by `dgx-spark-vllm recommend --context 200000 --concurrency 4 --priority latency`/m);
    assert.match(text, /^# Nearest public measurement: |^# Throughput: not measured publicly\./m);
    const p = run(["plan", "--config", file, "--json"]);
    assert.equal(p.code, 0, p.err);
    const plan = JSON.parse(p.out);
    assert.equal(plan.profile.maxModelLen, 200_000);
    assert.equal(plan.profile.maxNumSeqs, 4);
    // No warning plan gives that recommend did not already print.
    for (const w of plan.warnings as { path: string; message: string }[]) {
      assert.ok(r.out.includes(`${w.path}: ${w.message}`), `recommend did not print: ${w.path}: ${w.message}`);
    }
  });

  it("8 x 1M does not fit: one sentence with the nearest targets, exit 2; those targets do fit", () => {
    const r = run(["recommend", "--context", "1M", "--concurrency", "8"]);
    assert.equal(r.code, 2);
    const m = /^8 x 1M tokens does not fit: at most (\d+) x 1M, or 8 x (\d+)K\n$/.exec(r.err);
    assert.ok(m, r.err);
    assert.equal(run(["recommend", "--context", "1M", "--concurrency", m[1] as string]).code, 0);
    assert.equal(run(["recommend", "--context", `${m[2]}K`, "--concurrency", "8"]).code, 0);
    // One step further does not fit (the sentence names the nearest, not just some, feasible target).
    assert.equal(run(["recommend", "--context", `${Number(m[2]) + 1}K`, "--concurrency", "8"]).code, 2);
  });

  it("--json gives every configuration planned, with its fit and reason", () => {
    const r = run(["recommend", "--context", "256K", "--concurrency", "2", "--priority", "throughput", "--json"]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.candidates.length, choices().length);
    for (const c of j.candidates) assert.ok(c.fits || (typeof c.rejected === "string" && c.rejected.length > 0), c.id);
    assert.equal(j.top.length, 3);
  });

  it("bad usage names the option and exits 2", () => {
    for (const [argv, re] of [
      [["recommend", "--concurrency", "2"], /--context is required/],
      [["recommend", "--context", "200k"], /--concurrency is required/],
      [["recommend", "--context", "2M", "--concurrency", "1"], /serves 1,024 to 1,048,576/],
      [
        ["recommend", "--context", "200k", "--concurrency", "1", "--nodes", "4"],
        /--nodes 4: recommend covers two Sparks/,
      ],
      [["recommend", "--context", "200k", "--concurrency", "1", "--image", "nope"], /--image nope: use one of/],
      [["recommend", "--context", "200k", "--concurrency", "1", "--priority", "cheap"], /--priority cheap/],
    ] as [string[], RegExp][]) {
      const r = run(argv);
      assert.equal(r.code, 2, argv.join(" "));
      assert.match(r.err, re);
    }
  });

  it("labels the nearest measurement with its source, differences and age; nothing where nobody measured", () => {
    const now = new Date("2026-12-07T00:00:00Z");
    const base = { maxModelLen: 200_000, maxNumSeqs: 4, util: 0.8, image: "eugr-spark-vllm-b12x" };
    const dspark = evaluate(
      { variant: "deepseek-v4-flash-0731", speculative: "dspark", kvCacheDtype: "fp8", ...base },
      200_000,
      4,
      now,
    );
    const m = nearestMeasurement(dspark, now);
    assert.ok(m);
    // The same KV dtype wins over MiaAI-Lab's closer context with NVFP4 KV.
    assert.equal(m.id, "nvidia-0731");
    assert.equal(m.singleStream, "40.65");
    assert.equal(m.age, "measured 2026-09-03, 3 months ago");
    assert.deepEqual(m.differences, [
      "measured at max-model-len not published",
      "measured with 8 max-num-seqs",
      "measured at utilisation 0.85",
    ]);
    const off = evaluate(
      { variant: "deepseek-v4-flash", speculative: "off", kvCacheDtype: "fp8", ...base, image: "build" },
      200_000,
      4,
      now,
    );
    assert.equal(off.measured, undefined);
  });

  it("reads token counts as vLLM does: lowercase decimal, uppercase binary", () => {
    assert.equal(parseTokens("200k"), 200_000);
    assert.equal(parseTokens("256K"), 262_144);
    assert.equal(parseTokens("1M"), 1_048_576);
    assert.equal(parseTokens("1m"), 1_000_000);
    assert.equal(parseTokens("12345"), 12_345);
    assert.equal(parseTokens("lots"), undefined);
  });
});

/** A small seeded generator, so a failure names a reproducible target. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("properties over random targets (seed 24)", () => {
  const rand = rng(24);
  // Log-uniform contexts from 1K to 1M tokens, 1 to 12 requests: most fit, some do not.
  const targets = Array.from({ length: 12 }, () => ({
    context: Math.min(1_048_576, Math.round(1024 * 2 ** (rand() * 10))),
    concurrency: 1 + Math.floor(rand() * 12),
  }));
  let recommended = 0;
  after(() =>
    assert.ok(recommended >= 4, `only ${recommended} of 12 random targets fit: the property is barely tested`),
  );
  for (const t of targets) {
    it(`${t.concurrency} x ${t.context}: every recommendation plans cleanly and stays within the memory model`, () => {
      const r = recommend({ ...t, priority: "latency" });
      assert.ok(r.top.length > 0 || r.impossible, "either recommendations or a sentence");
      if (r.top.length > 0) recommended++;
      for (const c of r.top) {
        const plan = planFromInput(c.config); // throws a ConfigError on any error
        assert.equal(plan.profile.maxModelLen, t.context);
        for (const b of plan.memory.nodes) {
          assert.ok(
            t.concurrency * b.fullRequestGiB <= b.kvPoolGiB + 0.01,
            `${c.id}: ${t.concurrency} requests exceed the pool`,
          );
          if (b.vllm) assert.ok(t.concurrency <= b.vllm.fullContextRequests, `${c.id}: beyond vLLM's block count`);
        }
      }
    });
  }
  it("raising the context never raises the requests that fit", () => {
    for (const ch of choices()) {
      let last = Number.POSITIVE_INFINITY;
      for (const context of [8192, 65_536, 131_072, 200_000, 262_144, 400_000, 524_288, 800_000, 1_048_576]) {
        const c = evaluate(ch, context, 1);
        if (c.rejected && !c.rejected.startsWith("holds")) continue; // not expressible (image, variant rules)
        assert.ok(c.fullContextRequests <= last, `${c.id} at ${context}: ${c.fullContextRequests} > ${last}`);
        last = c.fullContextRequests;
      }
    }
  });
});
