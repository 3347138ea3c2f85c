import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runBenchCli } from "../../src/cli/bench";
import { captureIo, closedPort, tempDir, withStandin, xmlBalanced } from "./support";

const QUICK = ["--max-tokens", "8", "--first-token-timeout", "3", "--idle-timeout", "1", "--request-timeout", "10"];

test("bench prints a table with one row per level and progress on stderr", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const io = captureIo();
    const code = await runBenchCli(["--endpoint", `${s.url}/v1`, "--levels", "1,3", ...QUICK], io, { env: {} });
    assert.equal(code, 0, io.stderr);
    const lines = io.stdout.trim().split("\n");
    assert.match(lines[0] ?? "", /model deepseek-v4 .*max_tokens 8 .*temperature 0\.7 .*thinking off/);
    assert.match(
      lines[1] ?? "",
      /conc +reqs +errors +agg tok\/s +tok\/s\/stream +req\/s +lat p50 +lat p99 +TTFT p50 +TTFT p99 +ITL p50 +ITL p99/,
    );
    assert.match(lines[2] ?? "", /^ +1 +16 +0 +\d+\.\d/);
    assert.match(lines[3] ?? "", /^ +3 +16 +0 +\d+\.\d/);
    assert.equal(lines.length, 4);
    assert.match(io.stderr, /c=1: warm-up/);
    assert.match(io.stderr, /c=3: done: [\d.]+ tok\/s aggregate/);
  });
});

test("--json gives the report; --chart writes a well-formed SVG with its four panels", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const dir = tempDir();
    const chart = join(dir, "bench.svg");
    const io = captureIo();
    const code = await runBenchCli(
      ["--endpoint", s.url, "--levels", "1,2,4", "--json", "--chart", chart, "--quiet", ...QUICK],
      io,
      { env: {} },
    );
    assert.equal(code, 0, io.stderr);
    const report = JSON.parse(io.stdout) as {
      levels: { concurrency: number; aggregateTokPerS: number; requests: number }[];
      settings: { maxTokens: number };
    };
    assert.deepEqual(
      report.levels.map((l) => l.concurrency),
      [1, 2, 4],
    );
    assert.ok(report.levels.every((l) => l.aggregateTokPerS > 0));
    assert.equal(report.settings.maxTokens, 8);
    assert.equal(io.stderr, "", "--quiet prints nothing on stderr when all is well");
    const svg = readFileSync(chart, "utf8");
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok(xmlBalanced(svg), "SVG tags balance");
    for (const id of ["throughput", "per-stream", "latency", "ttft"]) assert.match(svg, new RegExp(`id="${id}"`));
    assert.equal(
      (svg.match(/<polyline/g) ?? []).length,
      6,
      "aggregate, per-stream, latency p50 and p99, TTFT p50 and p99",
    );
    assert.match(svg, />concurrency</);
    // One marker per level per series.
    assert.equal((svg.match(/<circle/g) ?? []).length, 6 * 3);
  });
});

test("--baseline: a slower server is flagged as a regression (exit 1); the same speed is not", async () => {
  const dir = tempDir();
  const baseline = join(dir, "baseline.json");
  await withStandin({ behavior: { tokenIntervalMs: 2 } }, async (s) => {
    const io = captureIo();
    assert.equal(
      await runBenchCli(
        ["--endpoint", s.url, "--levels", "1,2", "--requests", "8", "--json", "--quiet", ...QUICK],
        io,
        { env: {} },
      ),
      0,
      io.stderr,
    );
    writeFileSync(baseline, io.stdout);
    const same = captureIo();
    const code = await runBenchCli(
      [
        "--endpoint",
        s.url,
        "--levels",
        "1,2",
        "--requests",
        "8",
        "--baseline",
        baseline,
        "--tolerance",
        "0.5",
        "--quiet",
        ...QUICK,
      ],
      same,
      { env: {} },
    );
    assert.equal(code, 0, same.stdout + same.stderr);
    assert.match(same.stdout, /no regression beyond 50%/);
  });
  await withStandin({ behavior: { tokenIntervalMs: 8 } }, async (s) => {
    const io = captureIo();
    const code = await runBenchCli(
      [
        "--endpoint",
        s.url,
        "--levels",
        "1,2,3",
        "--requests",
        "8",
        "--baseline",
        baseline,
        "--tolerance",
        "0.1",
        ...QUICK,
      ],
      io,
      { env: {} },
    );
    assert.equal(code, 1);
    assert.match(io.stdout, /REGRESSED against .*baseline\.json \(tolerance 10%, marked !\)/);
    assert.match(io.stdout, /c=1 agg tok\/s: [\d.]+ tok\/s -> [\d.]+ tok\/s \(\d+(\.\d)?% worse\)/);
    // Latency regressions carry their unit, as the table's columns do.
    assert.match(io.stdout, /c=2 lat p50: \d+\.\d\ds -> \d+\.\d\ds \(\d+(\.\d)?% worse\)/);
    assert.doesNotMatch(io.stdout, /WARNING/, "same settings: no warning");
    assert.match(io.stdout, /has no level\(s\) 3: not compared/);
    assert.match(io.stdout, /^ +1 +8 +0 +[\d.]+! +[\d.]+!/m, "the regressed cells are marked");
    assert.match(io.stderr, /regression\(s\) beyond 10%/);
  });
});

test("--baseline run with other settings is refused, naming them; --allow-different-settings compares with a warning", async () => {
  const dir = tempDir();
  const baseline = join(dir, "baseline.json");
  await withStandin({ behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const io = captureIo();
    const base = ["--endpoint", s.url, "--levels", "1,2", "--requests", "4", "--quiet", "--no-warmup", ...QUICK];
    assert.equal(await runBenchCli([...base, "--json"], io, { env: {} }), 0, io.stderr);
    writeFileSync(baseline, io.stdout);
    const before = s.stats.chatRequests;
    const refused = captureIo();
    const other = [
      "--endpoint",
      s.url,
      "--levels",
      "1,2",
      "--requests",
      "6",
      "--temperature",
      "0",
      "--quiet",
      ...QUICK.filter((_, i) => i > 1),
      "--max-tokens",
      "12",
    ];
    assert.equal(await runBenchCli([...other, "--baseline", baseline], refused, { env: {} }), 2);
    assert.match(
      refused.stderr,
      /was run with different settings: max_tokens 12 \(baseline 8\); temperature 0 \(baseline 0\.7\); warm-up on \(baseline off\); requests per level \(c=1: 6 vs 4, c=2: 6 vs 4 in the baseline\)/,
    );
    assert.match(refused.stderr, /--allow-different-settings/);
    assert.equal(s.stats.chatRequests, before, "refused before sending a request");
    const warned = captureIo();
    const code = await runBenchCli(
      [...other, "--baseline", baseline, "--tolerance", "10", "--allow-different-settings"],
      warned,
      { env: {} },
    );
    assert.equal(code, 0, warned.stderr);
    assert.match(
      warned.stdout,
      /WARNING: .*baseline\.json was run with different settings: max_tokens 12 \(baseline 8\)/,
    );
    assert.match(warned.stderr, /WARNING: comparing with a baseline run with different settings/);
  });
});

test("request errors make the run exit 1 with the error kinds listed; a dead server does not crash it", async () => {
  await withStandin(
    {
      behavior: { tokenIntervalMs: 1 },
      fault: (n) => (n === 3 ? { malformedAfterTokens: 1 } : undefined),
      dieAtRequest: 30,
    },
    async (s) => {
      const io = captureIo();
      const code = await runBenchCli(["--endpoint", s.url, "--levels", "2,4", ...QUICK], io, { env: {} });
      assert.equal(code, 1);
      assert.match(io.stdout, /ERRORS: \d+ request\(s\) failed/);
      assert.match(io.stdout, /c=2: malformed 1/);
      assert.match(io.stdout, /c=4: .*refused \d+/);
      assert.match(io.stderr, /c=4: done: .*refused \d+/);
    },
  );
});

test("the API key comes from an environment variable, never argv, and never shows in output", async () => {
  const key = "sk-test-0123456789abcdef";
  await withStandin({ apiKey: key, behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const ok = captureIo();
    assert.equal(
      await runBenchCli(["--endpoint", s.url, "--levels", "1", "--api-key-env", "MY_KEY", ...QUICK], ok, {
        env: { MY_KEY: key },
      }),
      0,
      ok.stderr,
    );
    assert.match(ok.stderr, /using the API key from \$MY_KEY/);
    assert.ok(!ok.stdout.includes(key) && !ok.stderr.includes(key));
    // $VLLM_API_KEY is the default.
    const dflt = captureIo();
    assert.equal(
      await runBenchCli(["--endpoint", s.url, "--levels", "1", "--quiet", ...QUICK], dflt, {
        env: { VLLM_API_KEY: key },
      }),
      0,
    );
    // No key: the server's 401 is reported with the fix.
    const none = captureIo();
    assert.equal(
      await runBenchCli(["--endpoint", s.url, "--levels", "1", "--model", "deepseek-v4", ...QUICK], none, { env: {} }),
      1,
    );
    assert.match(none.stdout, /http-4xx/);
    assert.match(none.stdout, /--api-key-env/);
    // A named variable that is not set is a usage error.
    const unset = captureIo();
    assert.equal(await runBenchCli(["--endpoint", s.url, "--api-key-env", "NOPE"], unset, { env: {} }), 2);
    assert.match(unset.stderr, /NOPE is not set/);
    // A key on the command line is refused outright, and not echoed.
    const argv = captureIo();
    assert.equal(await runBenchCli(["--endpoint", s.url, `--api-key=${key}`], argv, { env: {} }), 2);
    assert.match(argv.stderr, /never taken on the command line/);
    assert.ok(!argv.stderr.includes(key));
  });
});

test("without a usage chunk the table says tokens were counted from deltas", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 1, usage: false } }, async (s) => {
    const io = captureIo();
    assert.equal(await runBenchCli(["--endpoint", s.url, "--levels", "1", "--quiet", ...QUICK], io, { env: {} }), 0);
    assert.match(io.stdout, /16 response\(s\) had no usage chunk/);
  });
});

test("usage errors exit 2; an unreachable server exits 1 with a clear message", async () => {
  const cases: [string[], RegExp][] = [
    [[], /--endpoint is required/],
    [["--endpoint", "ftp://x"], /http:\/\/ or https:\/\//],
    [["--endpoint", "http://127.0.0.1:1", "--levels", "1,x"], /--levels must be a whole number/],
    [["--endpoint", "http://127.0.0.1:1", "--levels", "0"], /between 1 and/],
    [["--endpoint", "http://127.0.0.1:1", "--tolerance", "0.2"], /only applies with --baseline/],
    [["--endpoint", "http://127.0.0.1:1", "--baseline", "/nonexistent/b.json"], /no such file/],
    [["--endpoint", "http://127.0.0.1:1", "--bogus"], /Unknown option '--bogus'/],
  ];
  for (const [argv, msg] of cases) {
    const io = captureIo();
    assert.equal(await runBenchCli(argv, io, { env: {} }), 2, argv.join(" "));
    assert.match(io.stderr, msg);
    assert.match(io.stderr, /usage: dgx-spark-vllm bench/);
  }
  const dir = tempDir();
  const bad = join(dir, "bad.json");
  writeFileSync(bad, JSON.stringify({ hello: 1 }));
  const io = captureIo();
  assert.equal(await runBenchCli(["--endpoint", "http://127.0.0.1:1", "--baseline", bad], io, { env: {} }), 2);
  assert.match(io.stderr, /has no `levels` array/);

  const down = captureIo();
  assert.equal(
    await runBenchCli(["--endpoint", `http://127.0.0.1:${await closedPort()}`, "--json"], down, { env: {} }),
    1,
  );
  assert.match(down.stderr, /cannot list models .*connection refused/);
  assert.equal((JSON.parse(down.stdout) as { error: string }).error.includes("refused"), true);
});
