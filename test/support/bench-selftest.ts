/**
 * Bench self-test: how accurate and how cheap is the bench client?
 *
 * 1. Accuracy: a stand-in server (its own process, so it does not share the client's core) emits
 *    tokens at a known per-stream rate; `runBench` at concurrency 32 must measure the aggregate
 *    within 1% of what the stand-in served (its own count over its own window): the client's
 *    error. The stand-in's pace against concurrency x rate is the machine's share, not the
 *    client's: on this loaded 2-core machine it fell up to 3.5% short (docs/bench-and-gate.md), so
 *    it only has to stay within 5% (further off, the figure says nothing and the run fails).
 * 2. Cost: the stand-in emits as fast as it can; the client's own CPU time (process.cpuUsage of
 *    this process only) per streamed token gives how many tokens/s one client core can drive.
 *
 * Test support, not part of the package. After a build (`npm run build`): `npm run bench:selftest`
 * or `node dist/test/support/bench-selftest.js [--json]`.
 */
import { type ChildProcess, fork } from "node:child_process";
import { performance } from "node:perf_hooks";
import { runBench } from "../../src/bench/run";

export interface AccuracyResult {
  readonly concurrency: number;
  readonly perStreamRate: number;
  readonly maxTokens: number;
  /** concurrency x per-stream rate: what the stand-in would deliver with zero turnaround between requests. */
  readonly nominalTokPerS: number;
  /** What the stand-in actually sent over its own measured window (its counters). */
  readonly servedTokPerS: number;
  /** What the bench client reported. */
  readonly measuredTokPerS: number;
  /** measured vs nominal, percent. */
  readonly errorPct: number;
  /** measured vs served, percent. */
  readonly errorVsServedPct: number;
  readonly perStreamTokPerS: number | null;
  readonly ttftP50Ms: number | null;
  readonly itlP50Ms: number | null;
  readonly errors: number;
  /** Client CPU time / wall time over the measured phase, percent of one core. */
  readonly clientCpuPctOfOneCore: number;
}

export interface CostResult {
  readonly concurrency: number;
  /** Chunks the stand-in writes per event-loop turn: 1 = one small write per token (engine-like), 64 = coalesced. */
  readonly writeBatch: number;
  readonly maxTokens: number;
  readonly requests: number;
  readonly tokens: number;
  readonly wallS: number;
  readonly achievedTokPerS: number;
  readonly clientCpuS: number;
  readonly clientUsPerToken: number;
  /** Streamed tokens per second one fully busy client core would drive. */
  readonly tokPerSPerClientCore: number;
  readonly errors: number;
}

export interface SelftestReport {
  readonly node: string;
  readonly accuracy: readonly AccuracyResult[];
  readonly cost: readonly CostResult[];
  /** Every accuracy run within 1% of what was served, the stand-in within 5% of its nominal pace, no errors. */
  readonly ok: boolean;
}

/** Start the stand-in in a child process; resolves with its port. */
export function forkStandin(opts: Record<string, unknown>): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = fork(require.resolve("./standin"), [JSON.stringify({ port: 0, ...opts })], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error("the stand-in did not start within 10 s"));
    }, 10_000);
    child.once("message", (m: { port?: number }) => {
      clearTimeout(timer);
      resolve({ child, url: `http://127.0.0.1:${m.port}` });
    });
    child.once("error", reject);
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

async function standinStats(
  url: string,
  path: "stats" | "reset",
): Promise<{ tokensSent: number; firstRequestAt?: number; lastStreamEndAt?: number }> {
  const r = await fetch(`${url}/__standin/${path}`, { method: path === "reset" ? "POST" : "GET" });
  return (await r.json()) as { tokensSent: number; firstRequestAt?: number; lastStreamEndAt?: number };
}

export async function accuracyRun(
  concurrency: number,
  perStreamRate: number,
  maxTokens: number,
  say?: (s: string) => void,
): Promise<AccuracyResult> {
  const { child, url } = await forkStandin({ behavior: { tokenIntervalMs: 1000 / perStreamRate, tokensPerChunk: 1 } });
  try {
    // The RECIPE warm-up round, run separately so the stand-in's counters cover the measured phase only.
    await runBench({
      endpoint: url,
      levels: [concurrency],
      maxTokens,
      temperature: 0.7,
      requests: () => concurrency,
      warmup: false,
    });
    await standinStats(url, "reset");
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    const r = await runBench({
      endpoint: url,
      levels: [concurrency],
      maxTokens,
      temperature: 0.7,
      warmup: false,
      ...(say ? { onProgress: say } : {}),
    });
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - w0;
    const st = await standinStats(url, "stats");
    const l = r.levels[0];
    if (!l) throw new Error("no level result");
    const nominal = concurrency * perStreamRate;
    const measured = l.aggregateTokPerS ?? 0;
    const serverWindowMs = (st.lastStreamEndAt ?? 0) - (st.firstRequestAt ?? 0);
    const served = serverWindowMs > 0 ? st.tokensSent / (serverWindowMs / 1000) : Number.NaN;
    const pct = (a: number, b: number) => Math.round(((a - b) / b) * 10000) / 100;
    return {
      concurrency,
      perStreamRate,
      maxTokens,
      nominalTokPerS: nominal,
      servedTokPerS: Math.round(served * 100) / 100,
      measuredTokPerS: measured,
      errorPct: pct(measured, nominal),
      errorVsServedPct: pct(measured, served),
      perStreamTokPerS: l.perStreamTokPerS,
      ttftP50Ms: l.ttftMs.p50,
      itlP50Ms: l.itlMs.p50,
      errors: l.errors,
      clientCpuPctOfOneCore: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 1000) / 10,
    };
  } finally {
    await stop(child);
  }
}

export async function costRun(
  concurrency: number,
  maxTokens: number,
  requests: number,
  writeBatch: number,
  say?: (s: string) => void,
): Promise<CostResult> {
  const { child, url } = await forkStandin({ behavior: { tokenIntervalMs: 0, tokensPerChunk: 1, writeBatch } });
  try {
    // Warm the JIT and the connections first, so the figure is the steady state.
    await runBench({
      endpoint: url,
      model: "deepseek-v4",
      levels: [concurrency],
      maxTokens,
      temperature: 0.7,
      requests: () => concurrency * 2,
      warmup: false,
    });
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    const r = await runBench({
      endpoint: url,
      model: "deepseek-v4",
      levels: [concurrency],
      maxTokens,
      temperature: 0.7,
      requests: () => requests,
      warmup: false,
      ...(say ? { onProgress: say } : {}),
    });
    const cpu = process.cpuUsage(cpu0);
    const wallS = (performance.now() - w0) / 1000;
    const l = r.levels[0];
    if (!l) throw new Error("no level result");
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const tokens = l.completionTokens;
    return {
      concurrency,
      maxTokens,
      writeBatch,
      requests,
      tokens,
      wallS: Math.round(wallS * 100) / 100,
      achievedTokPerS: Math.round(tokens / wallS),
      clientCpuS: Math.round(cpuS * 100) / 100,
      clientUsPerToken: Math.round((cpuS / tokens) * 1e6 * 100) / 100,
      tokPerSPerClientCore: Math.round(tokens / cpuS),
      errors: l.errors,
    };
  } finally {
    await stop(child);
  }
}

/** The client's measured aggregate vs what the stand-in served, percent: the claim. */
export const CLIENT_TOLERANCE_PCT = 1;
/** The stand-in's served rate vs concurrency x rate, percent: beyond this the machine is too busy for the run to mean anything. */
export const PACE_TOLERANCE_PCT = 5;
/** Tokens per request in the accuracy runs. */
export const ACCURACY_MAX_TOKENS = 512;

export async function runSelftest(say?: (s: string) => void): Promise<SelftestReport> {
  const accuracy: AccuracyResult[] = [];
  for (const rate of [100, 40]) {
    say?.(`accuracy: concurrency 32 at ${rate} tok/s per stream (nominal ${32 * rate} tok/s)`);
    // 512 tokens a request: what each request costs beyond its tokens (the turnaround to the next
    // request, a late last timer on a loaded machine) is a quarter of the share it had at 128,
    // where it took the aggregate to -1.07% of nominal under load (issue #26).
    accuracy.push(await accuracyRun(32, rate, ACCURACY_MAX_TOKENS, say));
  }
  const cost: CostResult[] = [];
  say?.("cost: stand-in as fast as it can, one write per token, 128 tokens per request");
  cost.push(await costRun(32, 128, 1600, 1, say));
  say?.("cost: stand-in as fast as it can, 64 tokens per write, 128 tokens per request");
  cost.push(await costRun(32, 128, 3200, 64, say));
  return {
    node: process.version,
    accuracy,
    cost,
    ok: accuracy.every(
      (a) =>
        Math.abs(a.errorVsServedPct) <= CLIENT_TOLERANCE_PCT &&
        Math.abs(a.errorPct) <= PACE_TOLERANCE_PCT &&
        a.errors === 0,
    ),
  };
}

export function renderSelftest(r: SelftestReport): string {
  const lines = [
    `bench self-test (Node ${r.node}; stand-in in its own process; client CPU = this process only)`,
    "",
    `Accuracy at a known rate (measured aggregate must be within ${CLIENT_TOLERANCE_PCT}% of what the stand-in served, and the stand-in within ${PACE_TOLERANCE_PCT}% of concurrency x rate):`,
  ];
  for (const a of r.accuracy) {
    lines.push(
      `  c=${a.concurrency}, ${a.perStreamRate} tok/s/stream, max_tokens ${a.maxTokens}: nominal ${a.nominalTokPerS} tok/s, served ${a.servedTokPerS}, measured ${a.measuredTokPerS} tok/s (${a.errorPct >= 0 ? "+" : ""}${a.errorPct}% vs nominal, ${a.errorVsServedPct >= 0 ? "+" : ""}${a.errorVsServedPct}% vs served)` +
        `; per-stream ${a.perStreamTokPerS}, TTFT p50 ${a.ttftP50Ms} ms, ITL p50 ${a.itlP50Ms} ms, errors ${a.errors}; client CPU ${a.clientCpuPctOfOneCore}% of one core`,
    );
  }
  lines.push("", "Client cost (stand-in streaming as fast as it can):");
  for (const c of r.cost) {
    lines.push(
      `  c=${c.concurrency}, max_tokens ${c.maxTokens}, ${c.writeBatch === 1 ? "one write per token" : `${c.writeBatch} tokens per write`}, ${c.requests} requests: ${c.tokens} tokens in ${c.wallS} s = ${c.achievedTokPerS} tok/s; client CPU ${c.clientCpuS} s = ${c.clientUsPerToken} us/token -> one client core drives ~${c.tokPerSPerClientCore} tok/s`,
    );
  }
  lines.push(
    "",
    r.ok
      ? `RESULT: PASS (client within ${CLIENT_TOLERANCE_PCT}% of what was served)`
      : `RESULT: FAIL (an accuracy run was off by more than ${CLIENT_TOLERANCE_PCT}% of what was served, the stand-in more than ${PACE_TOLERANCE_PCT}% off its pace, or it had errors)`,
  );
  return `${lines.join("\n")}\n`;
}

/** CLI entry: prints the text report (or JSON with --json); exit 1 when accuracy is off. */
export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes("--json");
  const r = await runSelftest((s) => process.stderr.write(`${s}\n`));
  process.stdout.write(json ? `${JSON.stringify(r, null, 2)}\n` : renderSelftest(r));
  return r.ok ? 0 : 1;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
