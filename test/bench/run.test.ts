import assert from "node:assert/strict";
import { test } from "node:test";
import { runBench } from "../../src/bench/run";
import { FAST, withStandin } from "./support";

test("sweep at a known token rate: aggregate ~ concurrency x per-stream rate, warm-up discarded, RECIPE request shape", async () => {
  // 20 tokens at 5 ms: 200 tok/s per stream.
  await withStandin({ behavior: { tokenIntervalMs: 5 } }, async (s) => {
    const lines: string[] = [];
    const r = await runBench({
      endpoint: s.url,
      levels: [1, 6],
      maxTokens: 20,
      temperature: 0.7,
      timeouts: FAST,
      onProgress: (l) => lines.push(l),
    });
    assert.equal(r.model, "deepseek-v4", "the model comes from /v1/models");
    const [l1, l6] = r.levels;
    assert.ok(l1 && l6);
    assert.equal(l1.requests, 16, "max(4 x 1, 16)");
    assert.equal(l6.requests, 24, "max(4 x 6, 16)");
    assert.equal(l1.errors + l6.errors, 0);
    assert.equal(l6.completionTokens, 24 * 20);
    for (const l of [l1, l6]) {
      // The server's pace is an upper bound; a loaded machine's late timers only slow it down, so the
      // lower bounds compare the aggregate with the per-stream rate measured in the same run.
      const perStream = l.perStreamTokPerS ?? 0;
      const agg = l.aggregateTokPerS ?? 0;
      assert.ok(perStream > 100 && perStream <= 204, `per stream ${perStream}`);
      assert.ok(agg <= 200 * l.concurrency * 1.02, `c=${l.concurrency}: ${agg} tok/s, above the server's pace`);
      assert.ok(
        agg > perStream * l.concurrency * 0.75,
        `c=${l.concurrency}: ${agg} tok/s, expected about ${l.concurrency} x ${perStream}`,
      );
      assert.ok((l.itlMs.p50 ?? 0) >= 3 && (l.itlMs.p50 ?? 0) < 15, `ITL p50 ${l.itlMs.p50}`);
      assert.ok((l.latencyMs.p50 ?? 0) >= 99, `20 tokens at 5 ms take 100 ms, got ${l.latencyMs.p50}`);
    }
    // Warm-up rounds (1 + 6 requests) reached the server but are not in the results.
    assert.equal(s.stats.chatRequests, 1 + 16 + 6 + 24);
    assert.deepEqual(
      r.levels.map((l) => l.warmup),
      [
        { requests: 1, errors: 0 },
        { requests: 6, errors: 0 },
      ],
    );
    const bodies = s.chatBodies;
    for (const b of bodies) {
      assert.equal(b.temperature, 0.7);
      assert.equal(b.max_tokens, 20);
      assert.deepEqual(b.chat_template_kwargs, { thinking: false });
      assert.equal(b.stream, true);
      assert.deepEqual(b.stream_options, { include_usage: true });
    }
    const prompts = bodies.map((b) => String(b.messages?.[0]?.content));
    assert.equal(new Set(prompts).size, prompts.length, "every prompt differs");
    assert.equal(
      new Set(prompts.map((p) => p.slice(0, 16))).size,
      prompts.length,
      "prompts differ from their first characters (no shared prefix block)",
    );
    assert.ok(lines.some((l) => /c=6: warm-up/.test(l)) && lines.some((l) => /c=6: done/.test(l)), lines.join("\n"));
  });
});

test("failed requests are counted by kind and left out of throughput, never thrown", async () => {
  await withStandin(
    {
      behavior: { tokenIntervalMs: 1 },
      fault: (n) => (n % 5 === 0 ? { status: 500 } : n % 7 === 0 ? { dropAfterTokens: 2 } : undefined),
    },
    async (s) => {
      const r = await runBench({
        endpoint: s.url,
        levels: [4],
        maxTokens: 8,
        temperature: 0.7,
        timeouts: FAST,
        warmup: false,
        requests: () => 35,
      });
      const l = r.levels[0];
      assert.ok(l);
      // Requests 5,10,..,35 fail with 500 (7); 7,14,21,28 drop (35 is already a 500): 11 failures.
      assert.equal(l.errors, 11);
      assert.deepEqual(l.errorKinds, { "http-5xx": 7, dropped: 4 });
      assert.equal(l.ok, 24);
      assert.equal(l.completionTokens, 24 * 8, "tokens of failed requests are not counted");
      assert.equal(r.totalErrors, 11);
      assert.ok(l.errorSamples.some((m) => /HTTP 500/.test(m)));
    },
  );
});

test("a server that dies mid-run: the sweep finishes, later levels report refused connections", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 1 }, dieAtRequest: 30 }, async (s) => {
    const t0 = Date.now();
    const r = await runBench({ endpoint: s.url, levels: [2, 4, 8], maxTokens: 8, temperature: 0.7, timeouts: FAST });
    assert.ok(Date.now() - t0 < 8000);
    assert.equal(s.isDead, true);
    const [a, b, c] = r.levels;
    assert.ok(a && b && c);
    assert.equal(a.errors, 0, "the first level ran before the death");
    assert.ok(b.errors > 0);
    assert.equal(c.ok, 0);
    assert.equal(c.errorKinds.refused, 32, "max(4 x 8, 16) requests, all refused");
    assert.equal(c.aggregateTokPerS, null, "no throughput is invented for a dead server");
  });
});

test("slow first token at one level shows in its TTFT, not as an error", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 1, firstTokenDelayMs: 120 } }, async (s) => {
    const r = await runBench({
      endpoint: s.url,
      levels: [2],
      maxTokens: 4,
      temperature: 0.7,
      timeouts: FAST,
      warmup: false,
      requests: () => 4,
    });
    const l = r.levels[0];
    assert.ok(l);
    assert.equal(l.errors, 0);
    assert.ok((l.ttftMs.p50 ?? 0) >= 120, `TTFT p50 ${l.ttftMs.p50}`);
    assert.ok((l.itlMs.p99 ?? 999) < 60, `ITL p99 ${l.itlMs.p99} must not include the first-token wait`);
  });
});

test("progress keeps coming while requests are in flight, warm-up included", async () => {
  // 40 tokens at 40 ms: each request streams for ~1.6 s; nothing completes for a while.
  await withStandin({ behavior: { tokenIntervalMs: 40 } }, async (s) => {
    const lines: { at: number; line: string }[] = [];
    const t0 = performance.now();
    const r = await runBench({
      endpoint: s.url,
      levels: [2],
      requests: () => 2,
      maxTokens: 40,
      temperature: 0.7,
      timeouts: FAST,
      progressIntervalMs: 200,
      onProgress: (line) => lines.push({ at: performance.now() - t0, line }),
    });
    assert.equal(r.totalErrors, 0);
    const text = lines.map((l) => l.line).join("\n");
    assert.match(
      text,
      /^c=2: warm-up: 0\/2 done, 2 in flight, 0 error\(s\), \d+ s elapsed, \d+ token chunk\(s\) streamed/m,
    );
    assert.match(
      text,
      /^c=2: 0\/2 done, 2 in flight, 0 error\(s\), \d+ s elapsed, [1-9]\d* token chunk\(s\) streamed/m,
    );
    // No silent stretch much longer than the interval from the first line to the last.
    const gaps = lines.slice(1).map((l, i) => l.at - (lines[i] as { at: number }).at);
    assert.ok(Math.max(...gaps) < 1000, `longest silence ${Math.round(Math.max(...gaps))} ms: ${text}`);
  });
});
