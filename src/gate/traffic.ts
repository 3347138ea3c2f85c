/**
 * Gates b (MTP crash test) and c (freeze soak): zero-gap concurrent streaming traffic for a
 * duration, /health polled alongside (engine death), every failure classified. The soak also
 * samples each node's free memory and gates the least-squares slope.
 */
import { type ErrorKind, OpenAiClient, type StreamResult, type Timeouts } from "../bench/client";
import { benchPrompt, newRunId } from "../bench/prompts";
import { leastSquares, round } from "../bench/stats";
import type { MemorySampler } from "./memory";
import { type CheckResult, result } from "./types";

export interface TrafficOptions {
  readonly endpoint: string;
  readonly apiKey?: string;
  readonly model: string;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly maxTokens: number;
  readonly timeouts: Timeouts;
  /** How often /health is polled during the run (default 5 s). */
  readonly healthIntervalMs?: number;
  readonly onProgress?: (line: string) => void;
  readonly progressIntervalMs?: number;
}

export interface TrafficOutcome {
  requests: number;
  ok: number;
  errors: number;
  errorKinds: Partial<Record<ErrorKind, number>>;
  errorSamples: string[];
  completionTokens: number;
  greedy: number;
  nonGreedy: number;
  wallMs: number;
  healthChecks: number;
  healthFailures: string[];
  engineDead: boolean;
  /** Why the run ended before its duration. */
  stoppedEarly?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Closed-loop traffic until the deadline (or until the server is gone). */
export async function runTraffic(
  opts: TrafficOptions,
  label: string,
  sampling: (worker: number, i: number) => { temperature: number; top_p?: number },
  onTick?: () => void,
): Promise<TrafficOutcome> {
  const client = new OpenAiClient({ endpoint: opts.endpoint, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) });
  const healthClient = new OpenAiClient({ endpoint: opts.endpoint });
  const out: TrafficOutcome = {
    requests: 0,
    ok: 0,
    errors: 0,
    errorKinds: {},
    errorSamples: [],
    completionTokens: 0,
    greedy: 0,
    nonGreedy: 0,
    wallMs: 0,
    healthChecks: 0,
    healthFailures: [],
    engineDead: false,
  };
  const runId = newRunId();
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  let stop = false;
  const halt = (why: string) => {
    if (!stop) {
      stop = true;
      out.stoppedEarly = why;
      opts.onProgress?.(`${label}: stopping early: ${why}`);
    }
  };
  const record = (r: StreamResult) => {
    out.requests++;
    if (r.ok) {
      out.ok++;
      out.completionTokens += r.completionTokens;
      return;
    }
    out.errors++;
    const k = r.error?.kind ?? "network";
    out.errorKinds[k] = (out.errorKinds[k] ?? 0) + 1;
    const msg = `${k}: ${r.error?.message ?? "unknown"}`;
    if (/EngineDead/i.test(msg)) out.engineDead = true;
    if (out.errorSamples.length < 5 && !out.errorSamples.includes(msg)) {
      out.errorSamples.push(msg);
      opts.onProgress?.(`${label}: request failed: ${msg}`);
    }
    if (k === "refused") halt("the server refuses connections (process gone?)");
  };
  const healthEvery = opts.healthIntervalMs ?? 5_000;
  const healthLoop = (async () => {
    while (!stop && performance.now() < deadline) {
      await sleep(Math.min(healthEvery, Math.max(1, deadline - performance.now())));
      if (stop) break;
      out.healthChecks++;
      const h = await healthClient.requestJson("/health", {
        timeoutMs: Math.max(1000, Math.min(10_000, healthEvery * 2)),
        auth: false,
      });
      if (!(h.ok && h.status === 200)) {
        const at = Math.round((performance.now() - t0) / 100) / 10;
        const why =
          h.status !== undefined
            ? `/health answered HTTP ${h.status} at ${at} s`
            : `/health failed at ${at} s: ${h.error?.message ?? "unknown"}`;
        out.healthFailures.push(why);
        out.engineDead = true;
        halt(`engine death: ${why}`);
      }
    }
  })();
  let lastSay = t0;
  const say = opts.progressIntervalMs ?? 10_000;
  const worker = async (w: number) => {
    for (let i = 0; !stop && performance.now() < deadline; i++) {
      const s = sampling(w, i);
      if (s.temperature === 0) out.greedy++;
      else out.nonGreedy++;
      const body: Record<string, unknown> = {
        model: opts.model,
        messages: [{ role: "user", content: benchPrompt(runId, label[0] ?? "g", w, i) }],
        max_tokens: opts.maxTokens,
        chat_template_kwargs: { thinking: false },
        ...s,
      };
      const r = await client.streamChat(body, opts.timeouts, { keepText: false });
      record(r);
      onTick?.();
      const now = performance.now();
      if (opts.onProgress && now - lastSay >= say) {
        lastSay = now;
        opts.onProgress(
          `${label}: ${Math.round((now - t0) / 1000)}/${Math.round(opts.durationMs / 1000)} s, ${out.ok} ok, ${out.errors} failed`,
        );
      }
      if (!r.ok) await sleep(100); // no hot loop against a failing server
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
    stop = true;
    await healthLoop;
    // One last look: a server that died with the last request should not pass.
    const h = await healthClient.requestJson("/health", { timeoutMs: 10_000, auth: false });
    out.healthChecks++;
    if (!(h.ok && h.status === 200)) {
      const why =
        h.status !== undefined
          ? `/health answered HTTP ${h.status} after the run`
          : `/health failed after the run: ${h.error?.message ?? "unknown"}`;
      if (!out.healthFailures.length) out.healthFailures.push(why);
      out.engineDead = true;
    }
  } finally {
    out.wallMs = performance.now() - t0;
    client.close();
    healthClient.close();
  }
  return out;
}

function trafficProblems(o: TrafficOutcome): string[] {
  const p: string[] = [];
  if (o.errors > 0) {
    p.push(
      `${o.errors} of ${o.requests} requests failed (${Object.entries(o.errorKinds)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")})`,
    );
    for (const s of o.errorSamples) p.push(`e.g. ${s}`);
  }
  if (o.engineDead) p.push(`engine death: ${o.healthFailures[0] ?? "EngineDeadError in a response"}`);
  if (o.ok === 0 && o.errors === 0)
    p.push("no request completed within the duration (raise the duration or the timeouts)");
  return p;
}

function trafficDetails(o: TrafficOutcome, concurrency: number): Record<string, unknown> {
  const s = o.wallMs / 1000;
  return {
    concurrency,
    durationS: round(s, 1),
    requests: o.requests,
    ok: o.ok,
    errors: o.errors,
    errorKinds: o.errorKinds,
    completionTokens: o.completionTokens,
    aggregateTokPerS: s > 0 ? round(o.completionTokens / s, 1) : null,
    greedyRequests: o.greedy,
    nonGreedyRequests: o.nonGreedy,
    healthChecks: o.healthChecks,
    healthFailures: o.healthFailures,
    ...(o.stoppedEarly ? { stoppedEarly: o.stoppedEarly } : {}),
  };
}

/** Gate b: greedy (temperature 0) and non-greedy (0.8, top_p 0.95) streams interleaved, concurrently. */
export async function mtpGate(opts: TrafficOptions): Promise<CheckResult> {
  const t0 = performance.now();
  const o = await runTraffic(opts, "mtp", (w, i) =>
    (w + i) % 2 === 0 ? { temperature: 0 } : { temperature: 0.8, top_p: 0.95 },
  );
  const problems = trafficProblems(o);
  if (o.greedy === 0 || o.nonGreedy === 0)
    problems.push("the run did not mix greedy and non-greedy requests (raise the duration or concurrency)");
  return result("mtp", t0, {
    summary: problems.length
      ? `failed: ${o.errors} error(s)${o.engineDead ? ", engine died" : ""} in ${o.requests} requests`
      : `${o.ok} mixed greedy/non-greedy streams at concurrency ${opts.concurrency}, no failure`,
    problems,
    details: trafficDetails(o, opts.concurrency),
  });
}

export interface SoakOptions extends TrafficOptions {
  /** Nodes to sample; empty: memory is not sampled. */
  readonly samplers: readonly MemorySampler[];
  /** True when the user chose not to sample memory (the soak can then pass on traffic alone). */
  readonly memoryOptOut?: boolean;
  readonly sampleIntervalMs: number;
  /** Fail when free memory falls faster than this, MB per hour. */
  readonly maxDeclineMbPerHour: number;
  /**
   * A soak shorter than this gives no free-memory verdict (status "inconclusive"): over a few
   * minutes, MemAvailable noise extrapolated to MB/h looks like a leak or hides one. Default
   * MIN_SOAK_VERDICT_MS.
   */
  readonly minVerdictMs?: number;
}

/** Shortest soak whose free-memory slope is judged (5 minutes). */
export const MIN_SOAK_VERDICT_MS = 300_000;

export interface NodeMemory {
  readonly node: string;
  readonly samples: number;
  readonly failedSamples: number;
  readonly firstMb: number | null;
  readonly lastMb: number | null;
  readonly minMb: number | null;
  /** Least-squares slope of MemAvailable against time; negative = free memory shrinking. */
  readonly slopeMbPerHour: number | null;
  readonly firstError?: string;
}

/** Gate c: zero-gap traffic while each node's MemAvailable is sampled; gates the decline rate. */
export async function soakGate(opts: SoakOptions): Promise<CheckResult> {
  const t0 = performance.now();
  const series = opts.samplers.map(() => ({
    points: [] as { x: number; y: number }[],
    failed: 0,
    firstError: undefined as string | undefined,
  }));
  const sampleAll = async () => {
    const at = performance.now();
    await Promise.all(
      opts.samplers.map(async (s, i) => {
        const ser = series[i] as (typeof series)[number];
        try {
          const mb = await s.sample();
          if (!Number.isFinite(mb)) throw new Error(`sampler returned ${mb}`);
          ser.points.push({ x: (at - t0) / 3_600_000, y: mb });
        } catch (e) {
          ser.failed++;
          ser.firstError ??= (e as Error).message;
        }
      }),
    );
  };
  let sampling = true;
  const sampler = (async () => {
    if (opts.samplers.length === 0) return;
    await sampleAll();
    while (sampling) {
      await new Promise<void>((r) => setTimeout(r, opts.sampleIntervalMs));
      if (!sampling) break;
      await sampleAll();
    }
  })();
  let o: TrafficOutcome;
  try {
    o = await runTraffic(opts, "soak", () => ({ temperature: 0.7 }));
  } finally {
    sampling = false;
  }
  await sampler;
  if (opts.samplers.length > 0) await sampleAll();

  const problems = trafficProblems(o);
  const notes: string[] = [];
  const nodes: NodeMemory[] = opts.samplers.map((s, i) => {
    const ser = series[i] as (typeof series)[number];
    const ys = ser.points.map((p) => p.y);
    const fit = leastSquares(ser.points);
    return {
      node: s.node,
      samples: ser.points.length,
      failedSamples: ser.failed,
      firstMb: round(ys[0] ?? Number.NaN, 0),
      lastMb: round(ys[ys.length - 1] ?? Number.NaN, 0),
      minMb: ys.length ? round(Math.min(...ys), 0) : null,
      slopeMbPerHour: ser.points.length >= 3 ? round(fit.slope, 1) : null,
      ...(ser.firstError ? { firstError: ser.firstError } : {}),
    };
  });
  if (opts.samplers.length === 0) {
    if (opts.memoryOptOut)
      notes.push("free memory was not sampled (--sampler none): only the traffic part of the soak was gated");
    else
      problems.push(
        "free memory was not sampled: no nodes known (pass --stack/--config for SSH sampling, --sampler local on the node itself, or --sampler none to gate traffic only)",
      );
  }
  const minVerdictMs = opts.minVerdictMs ?? MIN_SOAK_VERDICT_MS;
  const tooShort = opts.samplers.length > 0 && o.wallMs < minVerdictMs;
  for (const n of nodes) {
    if (n.slopeMbPerHour === null) {
      if (tooShort && n.failedSamples === 0) continue;
      problems.push(
        `${n.node}: only ${n.samples} memory sample(s) succeeded, need 3 to fit a slope${n.firstError ? ` (${n.firstError})` : ""}`,
      );
      continue;
    }
    if (n.failedSamples > 0)
      notes.push(`${n.node}: ${n.failedSamples} memory sample(s) failed (${n.firstError ?? ""})`);
    if (!tooShort && -n.slopeMbPerHour > opts.maxDeclineMbPerHour)
      problems.push(
        `${n.node}: free memory fell at ${Math.round(-n.slopeMbPerHour)} MB/h (${n.firstMb} -> ${n.lastMb} MB), over the ${opts.maxDeclineMbPerHour} MB/h limit: a leak (check the UCX variables) heading for a UMA freeze`,
      );
  }
  const inconclusive = tooShort
    ? `the soak ran ${Math.round(o.wallMs / 1000)} s, under the ${Math.round(minVerdictMs / 1000)} s a free-memory verdict needs: slopes over a shorter run are noise extrapolated to an hour, so no leak verdict is given (run --soak-duration ${Math.round(minVerdictMs / 1000)} or more)`
    : undefined;
  if (inconclusive) notes.push(inconclusive);
  const slopes = nodes
    .filter((n) => n.slopeMbPerHour !== null)
    .map((n) => `${n.node} ${(n.slopeMbPerHour as number) >= 0 ? "+" : ""}${Math.round(n.slopeMbPerHour as number)}`)
    .join(", ");
  return result("soak", t0, {
    summary: problems.length
      ? `failed: ${problems[0]}`
      : inconclusive
        ? `inconclusive: ${o.ok} requests at concurrency ${opts.concurrency} with no failure, but ${Math.round(o.wallMs / 1000)} s is too short for a free-memory verdict (needs ${Math.round(minVerdictMs / 1000)} s)${slopes ? `; measured slopes MB/h, not judged: ${slopes}` : ""}`
        : `${o.ok} requests at concurrency ${opts.concurrency} with no failure${slopes ? `; free-memory slope MB/h (negative = shrinking): ${slopes}` : ""}`,
    problems,
    notes,
    ...(inconclusive && problems.length === 0 ? { status: "inconclusive" as const } : {}),
    details: {
      ...trafficDetails(o, opts.concurrency),
      maxDeclineMbPerHour: opts.maxDeclineMbPerHour,
      minVerdictS: minVerdictMs / 1000,
      memoryVerdict: opts.samplers.length === 0 ? "not sampled" : tooShort ? "inconclusive" : "judged",
      sampleIntervalS: opts.sampleIntervalMs / 1000,
      memory: nodes,
    },
  });
}
