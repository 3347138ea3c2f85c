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
  const run = new TrafficRun(opts, label, sampling, onTick);
  try {
    const health = run.healthLoop();
    await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => run.worker(w)));
    run.stop = true;
    await health;
    await run.lastHealthCheck();
  } finally {
    run.close();
  }
  return run.out;
}

/** One traffic run's state: the outcome so far, whether to stop, the clock and the two clients. */
class TrafficRun {
  readonly out: TrafficOutcome = {
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
  stop = false;
  private readonly client: OpenAiClient;
  private readonly healthClient: OpenAiClient;
  private readonly runId = newRunId();
  private readonly t0 = performance.now();
  private readonly deadline: number;
  private lastSay = this.t0;

  constructor(
    private readonly opts: TrafficOptions,
    private readonly label: string,
    private readonly sampling: (worker: number, i: number) => { temperature: number; top_p?: number },
    private readonly onTick?: () => void,
  ) {
    this.client = new OpenAiClient({ endpoint: opts.endpoint, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) });
    this.healthClient = new OpenAiClient({ endpoint: opts.endpoint });
    this.deadline = this.t0 + opts.durationMs;
  }

  private halt(why: string): void {
    if (!this.stop) {
      this.stop = true;
      this.out.stoppedEarly = why;
      this.opts.onProgress?.(`${this.label}: stopping early: ${why}`);
    }
  }

  /** Count a request; a failure is classified, sampled, and a refused connection stops the run. */
  private record(r: StreamResult): void {
    const out = this.out;
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
      this.opts.onProgress?.(`${this.label}: request failed: ${msg}`);
    }
    if (k === "refused") this.halt("the server refuses connections (process gone?)");
  }

  /** /health every healthIntervalMs until the end: a failure is engine death and stops the run. */
  async healthLoop(): Promise<void> {
    const { out, t0 } = this;
    const healthEvery = this.opts.healthIntervalMs ?? 5_000;
    while (!this.stop && performance.now() < this.deadline) {
      await sleep(Math.min(healthEvery, Math.max(1, this.deadline - performance.now())));
      if (this.stop) break;
      out.healthChecks++;
      const h = await this.healthClient.requestJson("/health", {
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
        this.halt(`engine death: ${why}`);
      }
    }
  }

  /** One stream after another until the deadline or a stop, with progress every progressIntervalMs. */
  async worker(w: number): Promise<void> {
    const { opts, out, t0, label } = this;
    const say = opts.progressIntervalMs ?? 10_000;
    for (let i = 0; !this.stop && performance.now() < this.deadline; i++) {
      const s = this.sampling(w, i);
      if (s.temperature === 0) out.greedy++;
      else out.nonGreedy++;
      const body: Record<string, unknown> = {
        model: opts.model,
        messages: [{ role: "user", content: benchPrompt(this.runId, label[0] ?? "g", w, i) }],
        max_tokens: opts.maxTokens,
        chat_template_kwargs: { thinking: false },
        ...s,
      };
      const r = await this.client.streamChat(body, opts.timeouts, { keepText: false });
      this.record(r);
      this.onTick?.();
      const now = performance.now();
      if (opts.onProgress && now - this.lastSay >= say) {
        this.lastSay = now;
        opts.onProgress(
          `${label}: ${Math.round((now - t0) / 1000)}/${Math.round(opts.durationMs / 1000)} s, ${out.ok} ok, ${out.errors} failed`,
        );
      }
      if (!r.ok) await sleep(100); // no hot loop against a failing server
    }
  }

  /** One last look: a server that died with the last request should not pass. */
  async lastHealthCheck(): Promise<void> {
    const out = this.out;
    const h = await this.healthClient.requestJson("/health", { timeoutMs: 10_000, auth: false });
    out.healthChecks++;
    if (!(h.ok && h.status === 200)) {
      const why =
        h.status !== undefined
          ? `/health answered HTTP ${h.status} after the run`
          : `/health failed after the run: ${h.error?.message ?? "unknown"}`;
      if (!out.healthFailures.length) out.healthFailures.push(why);
      out.engineDead = true;
    }
  }

  close(): void {
    this.out.wallMs = performance.now() - this.t0;
    this.client.close();
    this.healthClient.close();
  }
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
  const sampling = new MemorySampling(opts, t0);
  const sampler = sampling.run();
  let o: TrafficOutcome;
  try {
    o = await runTraffic(opts, "soak", () => ({ temperature: 0.7 }));
  } finally {
    sampling.running = false;
  }
  await sampler;
  if (opts.samplers.length > 0) await sampling.sampleAll();

  const problems = trafficProblems(o);
  const notes: string[] = [];
  const nodes = sampling.nodes();
  const minVerdictMs = opts.minVerdictMs ?? MIN_SOAK_VERDICT_MS;
  const tooShort = opts.samplers.length > 0 && o.wallMs < minVerdictMs;
  judgeMemory(opts, nodes, tooShort, problems, notes);
  const inconclusive = tooShort
    ? `the soak ran ${Math.round(o.wallMs / 1000)} s, under the ${Math.round(minVerdictMs / 1000)}` +
      ` s a free-memory verdict needs: slopes over a shorter run are noise extrapolated to an hour,` +
      ` so no leak verdict is given (run --soak-duration ${Math.round(minVerdictMs / 1000)} or more)`
    : undefined;
  if (inconclusive) notes.push(inconclusive);
  return result("soak", t0, {
    summary: soakSummary(opts, o, nodes, problems, inconclusive, minVerdictMs),
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

/** Every node's MemAvailable, sampled at the start, every sampleIntervalMs while running, and once more at the end. */
class MemorySampling {
  running = true;
  private readonly series: { points: { x: number; y: number }[]; failed: number; firstError?: string }[];

  constructor(
    private readonly opts: SoakOptions,
    private readonly t0: number,
  ) {
    this.series = opts.samplers.map(() => ({ points: [], failed: 0 }));
  }

  async sampleAll(): Promise<void> {
    const at = performance.now();
    await Promise.all(
      this.opts.samplers.map(async (s, i) => {
        const ser = this.series[i] as (typeof this.series)[number];
        try {
          const mb = await s.sample();
          if (!Number.isFinite(mb)) throw new Error(`sampler returned ${mb}`);
          ser.points.push({ x: (at - this.t0) / 3_600_000, y: mb });
        } catch (e) {
          ser.failed++;
          ser.firstError ??= (e as Error).message;
        }
      }),
    );
  }

  /** Samples until `running` is cleared (nothing without samplers). */
  async run(): Promise<void> {
    if (this.opts.samplers.length === 0) return;
    await this.sampleAll();
    while (this.running) {
      await new Promise<void>((r) => setTimeout(r, this.opts.sampleIntervalMs));
      if (!this.running) break;
      await this.sampleAll();
    }
  }

  /** Per node: the samples, first/last/min, and the least-squares slope (from 3 samples). */
  nodes(): NodeMemory[] {
    return this.opts.samplers.map((s, i) => {
      const ser = this.series[i] as (typeof this.series)[number];
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
  }
}

/** The free-memory verdict: a decline over the limit fails (unless the run was too short to judge), and so does no sampling. */
function judgeMemory(
  opts: SoakOptions,
  nodes: readonly NodeMemory[],
  tooShort: boolean,
  problems: string[],
  notes: string[],
): void {
  if (opts.samplers.length === 0) {
    if (opts.memoryOptOut)
      notes.push("free memory was not sampled (--sampler none): only the traffic part of the soak was gated");
    else
      problems.push(
        "free memory was not sampled: no nodes known" +
          " (pass --stack/--config for SSH sampling," +
          " --sampler local on the node itself, or --sampler none to gate traffic only)",
      );
  }
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
        `${n.node}: free memory fell at ${Math.round(-n.slopeMbPerHour)} MB/h (${n.firstMb} -> ${n.lastMb} MB)` +
          `, over the ${opts.maxDeclineMbPerHour} MB/h limit` +
          `: a leak (check the UCX variables) heading for a UMA freeze`,
      );
  }
}

function soakSummary(
  opts: SoakOptions,
  o: TrafficOutcome,
  nodes: readonly NodeMemory[],
  problems: readonly string[],
  inconclusive: string | undefined,
  minVerdictMs: number,
): string {
  const slopes = nodes
    .filter((n) => n.slopeMbPerHour !== null)
    .map((n) => `${n.node} ${(n.slopeMbPerHour as number) >= 0 ? "+" : ""}${Math.round(n.slopeMbPerHour as number)}`)
    .join(", ");
  return problems.length
    ? `failed: ${problems[0]}`
    : inconclusive
      ? `inconclusive: ${o.ok} requests at concurrency ${opts.concurrency} with no failure,` +
        ` but ${Math.round(o.wallMs / 1000)} s is too short for a free-memory verdict` +
        ` (needs ${Math.round(minVerdictMs / 1000)} s)${slopes ? `; measured slopes MB/h, not judged: ${slopes}` : ""}`
      : `${o.ok} requests at concurrency ${opts.concurrency} with no failure${slopes ? `; free-memory slope MB/h (negative = shrinking): ${slopes}` : ""}`;
}
