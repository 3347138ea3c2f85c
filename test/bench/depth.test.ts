import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { OpenAiClient } from "../../src/bench/client";
import { filler } from "../../src/bench/context";
import { runDepthBench } from "../../src/bench/depth";
import { runBenchCli } from "../../src/cli/bench";
import { captureIo, FAST, tempDir, withStandin, xmlBalanced } from "./support";

const near = (v: number | null, want: number, tol: number) => v !== null && Math.abs(v - want) / want <= tol;

test("depth sweep: prompts sized from the server's token counts, pp/tg/TTFT per depth, and no prefix-cache hit", async () => {
  // Prefill at 10k tok/s, decode at 100 tok/s, a vLLM-like prefix cache that would show any reuse.
  await withStandin({ behavior: { tokenIntervalMs: 10, prefillTokPerS: 10_000 }, prefixCaching: true }, async (s) => {
    const lines: string[] = [];
    const r = await runDepthBench({
      endpoint: s.url,
      depths: [0, 1024, 8192],
      pp: 512,
      tg: 16,
      runs: 2,
      temperature: 0.7,
      timeouts: FAST,
      progressIntervalMs: 0,
      onProgress: (l) => lines.push(l),
    });
    assert.equal(r.kind, "dgx-spark-vllm.bench-depth");
    assert.equal(r.totalErrors, 0);
    assert.deepEqual(
      r.depths.map((d) => d.depth),
      [0, 1024, 8192],
    );
    for (const d of r.depths) {
      assert.ok(
        near(d.promptTokens.mean, d.depth + 512, 0.02),
        `d${d.depth}: ${d.promptTokens.mean} prompt tokens for ${d.depth + 512}`,
      );
      assert.ok(
        near(d.ppTokPerS.mean, 10_000, 0.25),
        `d${d.depth}: pp ${d.ppTokPerS.mean} tok/s, the server prefills 10k`,
      );
      assert.ok(near(d.tgTokPerS.mean, 100, 0.25), `d${d.depth}: tg ${d.tgTokPerS.mean} tok/s, the server decodes 100`);
      assert.equal(d.cachedPromptTokens, 0, `d${d.depth}: the server reported prefix-cache hits`);
    }
    const ttft = r.depths.map((d) => d.ttftMs.mean as number);
    assert.ok(
      (ttft[0] as number) < (ttft[1] as number) && (ttft[1] as number) < (ttft[2] as number),
      `TTFT grows with depth: ${ttft}`,
    );
    assert.ok(near(ttft[2] as number, (8192 + 512) / 10, 0.25), `TTFT at 8K ${ttft[2]} ms, expected ~870 ms`);
    assert.equal(s.stats.cachedPromptTokens, 0, "not one prompt block was reused across the whole run");
    const bodies = s.chatBodies;
    const measured = bodies.filter((b) => b.max_tokens === 16);
    assert.equal(measured.length, 1 + 3 * 2, "warm-up plus runs x depths");
    for (const b of measured) assert.equal(b.ignore_eos, true);
    const firsts = bodies.map((b) => String(b.messages?.[0]?.content).split(" ")[0]);
    assert.equal(new Set(firsts).size, firsts.length, "every prompt starts with its own nonce");
    assert.match(lines.join("\n"), /pp512 @ d8K: run 2\/2: \d+ prompt tokens, TTFT \d+ ms/);
  });
});

test("the stand-in's prefix cache is real: a repeated prompt is served from it, faster", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 1, prefillTokPerS: 20_000 }, prefixCaching: true }, async (s) => {
    const client = new OpenAiClient({ endpoint: s.url });
    try {
      const body = {
        model: "deepseek-v4",
        messages: [{ role: "user", content: filler(4000, 1) }],
        max_tokens: 4,
      };
      const first = await client.streamChat(body, FAST);
      const second = await client.streamChat(body, FAST);
      assert.equal(first.cachedPromptTokens, 0);
      assert.ok((second.cachedPromptTokens ?? 0) >= 3984, `cached ${second.cachedPromptTokens}`);
      assert.ok((second.ttftMs ?? 0) < (first.ttftMs ?? 0) / 3, `${second.ttftMs} ms vs ${first.ttftMs} ms`);
    } finally {
      client.close();
    }
  });
});

test("under a small max_model_len the calibration probe is sized to fit (a fixed 2000 words got HTTP 400 from a real vLLM)", async () => {
  await withStandin({ maxModelLen: 1536, behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const r = await runDepthBench({
      endpoint: s.url,
      depths: [0, 512],
      pp: 256,
      tg: 8,
      runs: 1,
      temperature: 0.7,
      timeouts: FAST,
    });
    assert.equal(r.totalErrors, 0);
    const cal = r.settings.calibration;
    assert.ok(
      cal.probeWords < 2000 && cal.overheadTokens + cal.probeWords * cal.tokensPerWord <= 1536,
      JSON.stringify(cal),
    );
    assert.ok(
      r.depths.every((d) => Math.abs((d.promptTokens.mean ?? 0) - d.targetPromptTokens) <= 0.05 * d.targetPromptTokens),
    );
  });
});

test("depths the server cannot hold are refused before any measured request", async () => {
  await withStandin({ maxModelLen: 4000, behavior: { tokenIntervalMs: 1 } }, async (s) => {
    await assert.rejects(
      runDepthBench({
        endpoint: s.url,
        depths: [0, 4096, 8192],
        pp: 512,
        tg: 16,
        runs: 1,
        temperature: 0.7,
        timeouts: FAST,
      }),
      /depth\(s\) 4K, 8K \+ pp 512 \+ tg 16 exceed the server's max_model_len 4000/,
    );
    assert.equal(s.stats.chatRequests, 0);
  });
});

test("bench --depths: a failed request is counted at its depth and exits 1", async () => {
  await withStandin(
    { behavior: { tokenIntervalMs: 1 }, fault: (n) => (n === 5 ? { status: 500 } : undefined) },
    async (s) => {
      const io = captureIo();
      const code = await runBenchCli(
        ["--endpoint", s.url, "--depths", "0,1k", "--pp", "128", "--tg", "4", "--runs", "2", "--quiet"],
        io,
        { env: {} },
      );
      assert.equal(code, 1);
      // Requests: 2 calibration probes, 1 warm-up, then d0 run 1 (4th) and run 2 (5th, the 500).
      assert.match(io.stdout, /^pp128 +\d+ .* 1$/m);
      assert.match(io.stdout, /ERRORS: 1 request\(s\) failed\n {2}d0: http-5xx 1\n {4}e\.g\. http-5xx: HTTP 500/);
      assert.match(io.stderr, /1 request\(s\) failed/);
    },
  );
});

test("bench --depths: llama-benchy-style table, JSON and a three-panel chart; usage errors exit 2", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 2, prefillTokPerS: 50_000 } }, async (s) => {
    const QUICK = ["--first-token-timeout", "3", "--idle-timeout", "1", "--request-timeout", "10", "--quiet"];
    const table = captureIo();
    const args = ["--endpoint", s.url, "--depths", "0,1k", "--pp", "256", "--tg", "8", "--runs", "1", ...QUICK];
    assert.equal(await runBenchCli(args, table, { env: {} }), 0, table.stderr);
    const rows = table.stdout.trim().split("\n");
    assert.match(rows[0] ?? "", /^bench --depths .* pp256 tg8 +1 run\(s\) per depth/);
    assert.match(rows[1] ?? "", /^test +prompt tok +t\/s +ttfr \(ms\) +est_ppt \(ms\) +e2e_ttft \(ms\) +errors$/);
    assert.match(
      rows[2] ?? "",
      /^pp256 +2\d\d +\d+\.\d\d ± \d+\.\d\d +[\d.]+ ± [\d.]+ +[\d.]+ ± [\d.]+ +[\d.]+ ± [\d.]+ +0$/,
    );
    assert.match(rows[3] ?? "", /^tg8 +\d+\.\d\d ± \d+\.\d\d$/);
    assert.match(rows[4] ?? "", /^pp256 @ d1024 +12\d\d /);
    assert.match(rows[5] ?? "", /^tg8 @ d1024 /);
    const dir = tempDir();
    const chart = join(dir, "depth.svg");
    const json = captureIo();
    assert.equal(await runBenchCli([...args, "--json", "--chart", chart], json, { env: {} }), 0, json.stderr);
    const report = JSON.parse(json.stdout) as { kind: string; settings: { pp: number }; depths: { depth: number }[] };
    assert.equal(report.kind, "dgx-spark-vllm.bench-depth");
    assert.deepEqual(
      report.depths.map((d) => d.depth),
      [0, 1024],
    );
    const svg = readFileSync(chart, "utf8");
    assert.ok(xmlBalanced(svg));
    assert.equal((svg.match(/<g class="panel"/g) ?? []).length, 3);
    assert.match(svg, />context depth \(tokens\)</);
    // A depth report is no baseline for a concurrency run.
    const depthJson = join(dir, "depth.json");
    writeFileSync(depthJson, json.stdout);
    const mixed = captureIo();
    assert.equal(await runBenchCli(["--endpoint", s.url, "--baseline", depthJson], mixed, { env: {} }), 2);
    assert.match(
      mixed.stderr,
      /is a depth report \(bench --depths\): a concurrency run compares only with a concurrency report/,
    );
  });
  const cases: [string[], RegExp][] = [
    [["--depths", "8k,0"], /--depths must increase/],
    [["--depths", "0,abc"], /'abc' is not a token count/],
    [["--pp", "512"], /--pp applies only with --depths/],
    [["--depths", "0", "--levels", "1,2"], /--levels does not apply with --depths/],
    [["--depths", "0", "--max-tokens", "8"], /use --tg N/],
  ];
  for (const [argv, msg] of cases) {
    const io = captureIo();
    assert.equal(await runBenchCli(["--endpoint", "http://127.0.0.1:1", ...argv], io, { env: {} }), 2, argv.join(" "));
    assert.match(io.stderr, msg);
  }
});
