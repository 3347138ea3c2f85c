/** The benchmark sweep (RECIPE "Benchmark method"): warm-up discarded, then max(4c, 16) requests per level. */
import { performance } from "node:perf_hooks";
import {
  DEFAULT_TIMEOUTS,
  displayEndpoint,
  type ErrorKind,
  OpenAiClient,
  type StreamResult,
  type Timeouts,
} from "./client";
import { benchPrompt, newRunId } from "./prompts";
import { mean, percentile, round } from "./stats";

export interface BenchOptions {
  readonly endpoint: string;
  readonly apiKey?: string;
  /** Served model name; default: the first model /v1/models lists. */
  readonly model?: string;
  /** Concurrency levels, in order. */
  readonly levels: readonly number[];
  readonly maxTokens: number;
  readonly temperature: number;
  /** Requests measured per level; default max(4 x concurrency, 16). */
  readonly requests?: (concurrency: number) => number;
  /** One discarded round of `concurrency` requests before measuring (default true). */
  readonly warmup?: boolean;
  readonly timeouts?: Timeouts;
  /** Progress lines (no trailing newline). */
  readonly onProgress?: (line: string) => void;
  /** A progress line this often while requests are in flight, warm-up included (default 5000; 0: none). */
  readonly progressIntervalMs?: number;
}

export interface Quantiles {
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface LevelResult {
  readonly concurrency: number;
  /** Measured requests (warm-up excluded). */
  readonly requests: number;
  readonly ok: number;
  readonly errors: number;
  readonly errorKinds: Partial<Record<ErrorKind, number>>;
  /** First few distinct error messages, for people. */
  readonly errorSamples: readonly string[];
  readonly durationS: number | null;
  /** Completion tokens of the successful measured requests. */
  readonly completionTokens: number;
  /** How many successful requests had their tokens from the usage chunk vs counted content deltas. */
  readonly tokensFrom: { readonly usage: number; readonly deltas: number };
  /** Completion tokens of successful requests / level wall time. */
  readonly aggregateTokPerS: number | null;
  /** Mean over successful requests of completion tokens / that request's latency. */
  readonly perStreamTokPerS: number | null;
  readonly reqPerS: number | null;
  readonly latencyMs: Quantiles;
  readonly ttftMs: Quantiles;
  readonly itlMs: Quantiles;
  readonly warmup: { readonly requests: number; readonly errors: number };
}

export interface BenchReport {
  readonly schemaVersion: 1;
  readonly kind: "dgx-spark-vllm.bench";
  readonly endpoint: string;
  readonly model: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly settings: {
    readonly levels: readonly number[];
    readonly maxTokens: number;
    readonly temperature: number;
    readonly thinking: false;
    readonly warmup: boolean;
    readonly requestsPerLevel: readonly number[];
    readonly timeoutsMs: Timeouts;
  };
  readonly levels: readonly LevelResult[];
  readonly totalErrors: number;
}

export function defaultRequests(concurrency: number): number {
  return Math.max(4 * concurrency, 16);
}

/** Body of one benchmark request (stream fields are added by the client). */
export function benchBody(
  model: string,
  prompt: string,
  maxTokens: number,
  temperature: number,
): Record<string, unknown> {
  return {
    model,
    messages: [{ role: "user", content: prompt }],
    max_tokens: maxTokens,
    temperature,
    chat_template_kwargs: { thinking: false },
  };
}

/** Closed loop: `concurrency` workers, each starting its next request as soon as one ends. */
export async function runPool(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));
}

function q(values: readonly number[]): Quantiles {
  return { p50: round(percentile(values, 50), 1), p99: round(percentile(values, 99), 1) };
}

/** The successful results, the failed ones, their error kinds counted, and up to 3 distinct samples. */
export function splitResults(results: readonly StreamResult[]): {
  ok: StreamResult[];
  failed: StreamResult[];
  errorKinds: Partial<Record<ErrorKind, number>>;
  samples: string[];
} {
  const ok = results.filter((r) => r.ok);
  const failed = results.filter((r) => !r.ok);
  const errorKinds: Partial<Record<ErrorKind, number>> = {};
  const samples: string[] = [];
  for (const r of failed) {
    const k = r.error?.kind ?? "network";
    errorKinds[k] = (errorKinds[k] ?? 0) + 1;
    const msg = `${k}: ${r.error?.message ?? "unknown"}`;
    if (samples.length < 3 && !samples.includes(msg)) samples.push(msg);
  }
  return { ok, failed, errorKinds, samples };
}

/** Summarise one level's measured results over its wall time. */
export function summarizeLevel(
  concurrency: number,
  results: readonly StreamResult[],
  wallMs: number,
  warmup: { requests: number; errors: number },
): LevelResult {
  const { ok, failed, errorKinds, samples } = splitResults(results);
  const tokens = ok.reduce((s, r) => s + r.completionTokens, 0);
  const wallS = wallMs / 1000;
  const itl: number[] = [];
  for (const r of ok) for (const g of r.itlMs) itl.push(g);
  const perStream = ok.filter((r) => r.latencyMs > 0).map((r) => r.completionTokens / (r.latencyMs / 1000));
  return {
    concurrency,
    requests: results.length,
    ok: ok.length,
    errors: failed.length,
    errorKinds,
    errorSamples: samples,
    durationS: round(wallS, 3),
    completionTokens: tokens,
    tokensFrom: {
      usage: ok.filter((r) => r.tokensFrom === "usage").length,
      deltas: ok.filter((r) => r.tokensFrom === "deltas").length,
    },
    aggregateTokPerS: wallS > 0 && ok.length > 0 ? round(tokens / wallS, 2) : null,
    perStreamTokPerS: round(mean(perStream), 2),
    reqPerS: wallS > 0 && ok.length > 0 ? round(ok.length / wallS, 3) : null,
    latencyMs: q(ok.map((r) => r.latencyMs)),
    ttftMs: q(ok.filter((r) => r.ttftMs !== undefined).map((r) => r.ttftMs as number)),
    itlMs: q(itl),
    warmup,
  };
}

/** Ask /v1/models for the served name. Throws an Error with a user-facing message. */
export async function resolveModel(client: OpenAiClient, timeoutMs: number): Promise<string> {
  const r = await client.requestJson("/v1/models", { timeoutMs });
  if (!r.ok)
    throw new Error(`cannot list models at ${displayEndpoint(client.base)}/v1/models: ${r.error?.message ?? "failed"}`);
  const data = (r.json as { data?: { id?: unknown }[] } | undefined)?.data;
  const id = Array.isArray(data) ? data.find((m) => typeof m?.id === "string")?.id : undefined;
  if (typeof id !== "string")
    throw new Error(`${displayEndpoint(client.base)}/v1/models lists no model: pass --model NAME`);
  return id;
}

/** Counts requests in flight and streamed chunks for `withProgress`. */
export interface ProgressTracker {
  <T extends { ok: boolean }>(request: () => Promise<T>): Promise<T>;
  /** Call for every token-carrying chunk received. */
  readonly delta: () => void;
}

/**
 * Run `fn` while printing a line every `intervalMs`: done/total, in flight, errors, elapsed,
 * chunks streamed so far. A long warm-up (cold JIT) or long requests never leave the terminal
 * silent.
 */
export async function withProgress<R>(
  label: string,
  total: number,
  intervalMs: number,
  say: (line: string) => void,
  fn: (track: ProgressTracker) => Promise<R>,
): Promise<R> {
  const t0 = performance.now();
  let inFlight = 0;
  let done = 0;
  let failed = 0;
  let chunks = 0;
  const track = (async <T extends { ok: boolean }>(request: () => Promise<T>): Promise<T> => {
    inFlight++;
    try {
      const r = await request();
      done++;
      if (!r.ok) failed++;
      return r;
    } finally {
      inFlight--;
    }
  }) as ProgressTracker;
  (track as { delta: () => void }).delta = () => {
    chunks++;
  };
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          const s = (performance.now() - t0) / 1000;
          say(
            `${label}: ${done}/${total} done, ${inFlight} in flight, ${failed} error(s),` +
              ` ${Math.round(s)} s elapsed,` +
              ` ${chunks} token chunk(s) streamed (${Math.round(chunks / Math.max(s, 0.001))}/s)`,
          );
        }, intervalMs)
      : undefined;
  try {
    return await fn(track);
  } finally {
    if (timer) clearInterval(timer);
  }
}

/** Run the sweep. Never throws for request failures: they are counted per level. */
export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
  const warmup = opts.warmup !== false;
  const requestsFor = opts.requests ?? defaultRequests;
  const say = opts.onProgress ?? (() => undefined);
  const client = new OpenAiClient({ endpoint: opts.endpoint, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) });
  const startedAt = new Date().toISOString();
  const runId = newRunId();
  try {
    const model = opts.model ?? (await resolveModel(client, Math.min(timeouts.totalMs, 30_000)));
    const levels: LevelResult[] = [];
    const run: LevelRun = { opts, client, model, runId, timeouts, interval: opts.progressIntervalMs ?? 5000, say };
    for (const c of opts.levels) {
      const n = requestsFor(c);
      const warm = warmup ? await warmUp(run, c) : { requests: 0, errors: 0 };
      const level = await measureLevel(run, c, n, warm);
      levels.push(level);
      say(
        `c=${c}: done: ${level.aggregateTokPerS ?? "-"} tok/s aggregate, ${level.perStreamTokPerS ?? "-"} per stream, ${level.errors} error(s)` +
          (level.errors
            ? ` (${Object.entries(level.errorKinds)
                .map(([k, v]) => `${k} ${v}`)
                .join(", ")})`
            : ""),
      );
    }
    return {
      schemaVersion: 1,
      kind: "dgx-spark-vllm.bench",
      endpoint: displayEndpoint(client.base),
      model,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: {
        levels: [...opts.levels],
        maxTokens: opts.maxTokens,
        temperature: opts.temperature,
        thinking: false,
        warmup,
        requestsPerLevel: opts.levels.map(requestsFor),
        timeoutsMs: timeouts,
      },
      levels,
      totalErrors: levels.reduce((s, l) => s + l.errors, 0),
    };
  } finally {
    client.close();
  }
}

/** What each level's requests are made with. */
interface LevelRun {
  readonly opts: BenchOptions;
  readonly client: OpenAiClient;
  readonly model: string;
  readonly runId: string;
  readonly timeouts: NonNullable<BenchOptions["timeouts"]>;
  readonly interval: number;
  readonly say: (line: string) => void;
}

/** c requests at concurrency c, discarded: the engine's first batch at this size (compile, caches). */
async function warmUp(
  { opts, client, model, runId, timeouts, interval, say }: LevelRun,
  c: number,
): Promise<{ requests: number; errors: number }> {
  say(`c=${c}: warm-up, ${c} request${c === 1 ? "" : "s"} (discarded)`);
  const wr: StreamResult[] = [];
  await withProgress(`c=${c}: warm-up`, c, interval, say, async (track) => {
    await runPool(c, c, async (i) => {
      wr.push(
        await track(() =>
          client.streamChat(
            benchBody(model, benchPrompt(runId, "w", c, i), opts.maxTokens, opts.temperature),
            timeouts,
            { keepText: false, onDelta: track.delta },
          ),
        ),
      );
    });
  });
  const warm = { requests: wr.length, errors: wr.filter((r) => !r.ok).length };
  if (warm.errors > 0)
    say(`c=${c}: warm-up had ${warm.errors} error(s): ${wr.find((r) => !r.ok)?.error?.message ?? ""}`);
  return warm;
}

/** n measured requests at concurrency c, summarized. */
async function measureLevel(
  { opts, client, model, runId, timeouts, interval, say }: LevelRun,
  c: number,
  n: number,
  warm: { requests: number; errors: number },
): Promise<LevelResult> {
  say(`c=${c}: measuring ${n} requests`);
  const results: StreamResult[] = [];
  let errors = 0;
  const t0 = performance.now();
  await withProgress(`c=${c}`, n, interval, say, async (track) => {
    await runPool(n, c, async (i) => {
      const r = await track(() =>
        client.streamChat(benchBody(model, benchPrompt(runId, "m", c, i), opts.maxTokens, opts.temperature), timeouts, {
          keepText: false,
          onDelta: track.delta,
        }),
      );
      results.push(r);
      if (!r.ok && ++errors <= 3) say(`c=${c}: request failed (${r.error?.kind}): ${r.error?.message}`);
    });
  });
  return summarizeLevel(c, results, performance.now() - t0, warm);
}
