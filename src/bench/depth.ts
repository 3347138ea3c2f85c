/**
 * The depth sweep (`bench --depths`): prompt processing (pp) and token generation (tg) speed and
 * time to first token at several context depths, one request at a time, in the style of
 * llama-benchy / llama-bench ("pp2048 @ d8192", "tg128 @ d8192"). Each request's prompt is
 * depth + pp tokens of fresh prose that starts with a nonce unique to that request, so no prefix
 * block is ever shared and prefix caching cannot shorten the prefill being measured.
 *
 * Per request, as llama-benchy computes them:
 *   pp tok/s = prompt tokens (usage.prompt_tokens) / est_ppt, est_ppt = TTFR - estimated latency
 *   tg tok/s = (completion tokens - 1) / (last token time - first token time)
 * TTFR is the first stream event of any kind, TTFT (e2e_ttft) the first token-carrying one; the
 * latency estimate is the median time of GET /v1/models (llama-benchy's default "api" mode).
 */
import { performance } from "node:perf_hooks";
import {
  DEFAULT_TIMEOUTS,
  displayEndpoint,
  type ErrorKind,
  OpenAiClient,
  type StreamResult,
  type Timeouts,
} from "./client";
import { calibrateTokens, filler, nonce, type TokenCalibration, wordsFor } from "./context";
import { newRunId } from "./prompts";
import { resolveModel, splitResults, withProgress } from "./run";
import { fmtTokens, round } from "./stats";

export interface DepthOptions {
  readonly endpoint: string;
  readonly apiKey?: string;
  readonly model?: string;
  /** Context depths in tokens, in order (0 = just the pp prompt). */
  readonly depths: readonly number[];
  /** Prompt tokens on top of the depth (default 2048). */
  readonly pp: number;
  /** Tokens generated per request (default 128); sent as max_tokens with ignore_eos. */
  readonly tg: number;
  /** Measured requests per depth (default 3). */
  readonly runs: number;
  readonly temperature: number;
  /** One discarded pp-only request before measuring (default true). */
  readonly warmup?: boolean;
  readonly timeouts?: Timeouts;
  readonly onProgress?: (line: string) => void;
  readonly progressIntervalMs?: number;
}

/** Mean and population standard deviation (as llama-benchy prints "mean ± sd"); null without values. */
export interface Stat {
  readonly mean: number | null;
  readonly sd: number | null;
}

export interface DepthRow {
  readonly depth: number;
  /** depth + pp: what the prompt was sized to. */
  readonly targetPromptTokens: number;
  readonly requests: number;
  readonly ok: number;
  readonly errors: number;
  readonly errorKinds: Partial<Record<ErrorKind, number>>;
  readonly errorSamples: readonly string[];
  /** Prompt tokens the server counted. */
  readonly promptTokens: Stat;
  /** Prefix-cache hits the server reported (usage.prompt_tokens_details.cached_tokens), summed; null when not reported. */
  readonly cachedPromptTokens: number | null;
  readonly completionTokens: Stat;
  readonly ppTokPerS: Stat;
  readonly tgTokPerS: Stat;
  /** Time to first token-carrying chunk (llama-benchy's e2e_ttft). */
  readonly ttftMs: Stat;
  /** Time to the first stream event (llama-benchy's ttfr). */
  readonly ttfrMs: Stat;
  /** ttfr minus the latency estimate (llama-benchy's est_ppt). */
  readonly estPptMs: Stat;
  /** Whole request, send to [DONE] (aiperf's request latency, NVIDIA's e2e_latency_ms). */
  readonly e2eLatencyMs: Stat;
}

export interface DepthReport {
  readonly schemaVersion: 1;
  readonly kind: "dgx-spark-vllm.bench-depth";
  readonly endpoint: string;
  readonly model: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly settings: {
    readonly depths: readonly number[];
    readonly pp: number;
    readonly tg: number;
    readonly runs: number;
    readonly concurrency: 1;
    readonly temperature: number;
    readonly thinking: false;
    readonly ignoreEos: true;
    readonly warmup: boolean;
    /** The server's max_model_len from /v1/models, when it lists one. */
    readonly maxModelLen: number | null;
    /** Median GET /v1/models time, subtracted from TTFR for est_ppt. */
    readonly latencyEstimateMs: number;
    readonly calibration: TokenCalibration;
    readonly timeoutsMs: Timeouts;
  };
  readonly depths: readonly DepthRow[];
  readonly totalErrors: number;
}

export function stat(values: readonly number[], digits = 2): Stat {
  if (values.length === 0) return { mean: null, sd: null };
  const m = values.reduce((s, v) => s + v, 0) / values.length;
  const v = values.reduce((s, x) => s + (x - m) * (x - m), 0) / values.length;
  return { mean: round(m, digits), sd: round(Math.sqrt(v), digits) };
}

/** Body of one depth request: a single user message, thinking off, exactly `tg` tokens asked for. */
export function depthBody(model: string, prompt: string, tg: number, temperature: number): Record<string, unknown> {
  return {
    model,
    messages: [{ role: "user", content: prompt }],
    max_tokens: tg,
    // vLLM sampling extra: generate all tg tokens even where the model would stop early.
    ignore_eos: true,
    temperature,
    chat_template_kwargs: { thinking: false },
  };
}

const INSTRUCTION = "Continue this story for as long as you can.";

/** A prompt of about `tokens` prompt tokens that starts with a nonce unique to it. */
export function depthPrompt(runId: string, label: string, tokens: number, cal: TokenCalibration, seed: number): string {
  const instructionTokens = Math.ceil(INSTRUCTION.split(" ").length * cal.tokensPerWord);
  const words = wordsFor(tokens, cal, instructionTokens + 4);
  return `${nonce(runId, label)} ${filler(words, seed)}\n\n${INSTRUCTION}`;
}

async function maxModelLen(client: OpenAiClient, model: string, timeoutMs: number): Promise<number | null> {
  const r = await client.requestJson("/v1/models", { timeoutMs });
  const data = (r.json as { data?: { id?: unknown; max_model_len?: unknown }[] } | undefined)?.data;
  const m = Array.isArray(data) ? data.find((d) => d?.id === model) : undefined;
  return typeof m?.max_model_len === "number" ? m.max_model_len : null;
}

async function latencyEstimate(client: OpenAiClient, timeoutMs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = await client.requestJson("/v1/models", { timeoutMs });
    if (r.ok) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times.length ? (times[Math.floor(times.length / 2)] as number) : 0;
}

/** One depth's requests, summarised. */
export function summarizeDepth(
  depth: number,
  target: number,
  results: readonly StreamResult[],
  latencyMs: number,
): DepthRow {
  const { ok, failed, errorKinds, samples } = splitResults(results);
  const pp: number[] = [];
  const tg: number[] = [];
  const estPpt: number[] = [];
  for (const r of ok) {
    const prompt = r.promptTokens ?? target;
    if (r.ttfrMs !== undefined) {
      const est = Math.max(0, r.ttfrMs - latencyMs);
      estPpt.push(est);
      if (est > 0) pp.push(prompt / (est / 1000));
    }
    if (r.ttftMs !== undefined && r.completionTokens > 1) {
      const decodeMs = r.latencyMs - r.ttftMs;
      if (decodeMs > 0) tg.push((r.completionTokens - 1) / (decodeMs / 1000));
    }
  }
  const cached = ok.filter((r) => r.cachedPromptTokens !== undefined);
  return {
    depth,
    targetPromptTokens: target,
    requests: results.length,
    ok: ok.length,
    errors: failed.length,
    errorKinds,
    errorSamples: samples,
    promptTokens: stat(
      ok.filter((r) => r.promptTokens !== undefined).map((r) => r.promptTokens as number),
      1,
    ),
    cachedPromptTokens: cached.length ? cached.reduce((s, r) => s + (r.cachedPromptTokens as number), 0) : null,
    completionTokens: stat(
      ok.map((r) => r.completionTokens),
      1,
    ),
    ppTokPerS: stat(pp),
    tgTokPerS: stat(tg),
    ttftMs: stat(ok.filter((r) => r.ttftMs !== undefined).map((r) => r.ttftMs as number)),
    ttfrMs: stat(ok.filter((r) => r.ttfrMs !== undefined).map((r) => r.ttfrMs as number)),
    estPptMs: stat(estPpt),
    e2eLatencyMs: stat(ok.map((r) => r.latencyMs)),
  };
}

/** Throws an Error with a user-facing message for depths the server cannot hold. */
export function checkDepthsFit(depths: readonly number[], pp: number, tg: number, maxLen: number | null): void {
  if (maxLen === null) return;
  const over = depths.filter((d) => d + pp + tg > maxLen);
  if (over.length)
    throw new Error(
      `depth(s) ${over.map(fmtTokens).join(", ")} + pp ${pp} + tg ${tg} exceed the server's max_model_len ${maxLen}: drop them or lower --pp/--tg`,
    );
}

/** Run the depth sweep. Request failures are counted per depth, never thrown. */
export async function runDepthBench(opts: DepthOptions): Promise<DepthReport> {
  const timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
  const say = opts.onProgress ?? (() => undefined);
  const warmup = opts.warmup !== false;
  const interval = opts.progressIntervalMs ?? 5000;
  const client = new OpenAiClient({ endpoint: opts.endpoint, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) });
  const startedAt = new Date().toISOString();
  const runId = newRunId();
  try {
    const quick = Math.min(timeouts.totalMs, 30_000);
    const model = opts.model ?? (await resolveModel(client, quick));
    const maxLen = await maxModelLen(client, model, quick);
    checkDepthsFit(opts.depths, opts.pp, opts.tg, maxLen);
    const latencyMs = await latencyEstimate(client, quick);
    say(`calibrating prompt size against the server's token counts (2 short requests)`);
    const cal = await withProgress("calibration", 2, interval, say, () =>
      calibrateTokens(client, model, runId, timeouts, undefined, maxLen),
    );
    say(
      `calibration: ${round(cal.tokensPerWord, 3)} tokens per filler word, ${cal.overheadTokens} tokens of template;` +
        ` latency estimate ${round(latencyMs, 1)} ms`,
    );
    if (warmup) {
      say(`warm-up: one pp${opts.pp} request (discarded)`);
      const w = await withProgress("warm-up", 1, interval, say, (track) =>
        track(() =>
          client.streamChat(
            depthBody(model, depthPrompt(runId, "w", opts.pp, cal, 1), opts.tg, opts.temperature),
            timeouts,
            { keepText: false, onDelta: track.delta },
          ),
        ),
      );
      if (!w.ok) say(`warm-up failed (${w.error?.kind}): ${w.error?.message}`);
    }
    const run: DepthRun = { opts, client, model, runId, timeouts, interval, say, cal, latencyMs };
    const rows: DepthRow[] = [];
    for (const depth of opts.depths) {
      const target = depth + opts.pp;
      const label = `pp${opts.pp} @ d${fmtTokens(depth)}`;
      const results = await depthRuns(run, depth, target, label);
      rows.push(summarizeDepth(depth, target, results, latencyMs));
    }
    return {
      schemaVersion: 1,
      kind: "dgx-spark-vllm.bench-depth",
      endpoint: displayEndpoint(client.base),
      model,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: {
        depths: [...opts.depths],
        pp: opts.pp,
        tg: opts.tg,
        runs: opts.runs,
        concurrency: 1,
        temperature: opts.temperature,
        thinking: false,
        ignoreEos: true,
        warmup,
        maxModelLen: maxLen,
        latencyEstimateMs: round(latencyMs, 2) ?? 0,
        calibration: { ...cal, tokensPerWord: round(cal.tokensPerWord, 4) ?? cal.tokensPerWord },
        timeoutsMs: timeouts,
      },
      depths: rows,
      totalErrors: rows.reduce((s, r) => s + r.errors, 0),
    };
  } finally {
    client.close();
  }
}

/** What each depth's runs are made with. */
interface DepthRun {
  readonly opts: DepthOptions;
  readonly client: OpenAiClient;
  readonly model: string;
  readonly runId: string;
  readonly timeouts: NonNullable<DepthOptions["timeouts"]>;
  readonly interval: number;
  readonly say: (line: string) => void;
  readonly cal: Awaited<ReturnType<typeof calibrateTokens>>;
  readonly latencyMs: number;
}

/** opts.runs requests of pp tokens after `depth` tokens of context, one at a time, each said as it ends. */
async function depthRuns(
  { opts, client, model, runId, timeouts, interval, say, cal, latencyMs }: DepthRun,
  depth: number,
  target: number,
  label: string,
): Promise<StreamResult[]> {
  const results: StreamResult[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const prompt = depthPrompt(runId, `d${depth}-r${i}`, target, cal, depth * 31 + i + 2);
    const r = await withProgress(`${label}: run ${i + 1}/${opts.runs}`, 1, interval, say, (track) =>
      track(() =>
        client.streamChat(depthBody(model, prompt, opts.tg, opts.temperature), timeouts, {
          keepText: false,
          onDelta: track.delta,
        }),
      ),
    );
    results.push(r);
    if (r.ok) {
      const one = summarizeDepth(depth, target, [r], latencyMs);
      say(
        `${label}: run ${i + 1}/${opts.runs}: ${r.promptTokens ?? "?"} prompt tokens,` +
          ` TTFT ${Math.round(r.ttftMs ?? 0)} ms,` +
          ` pp ${one.ppTokPerS.mean ?? "-"} tok/s, tg ${one.tgTokPerS.mean ?? "-"} tok/s`,
      );
    } else say(`${label}: run ${i + 1}/${opts.runs} failed (${r.error?.kind}): ${r.error?.message}`);
  }
  return results;
}

function pm(s: Stat): string {
  return s.mean === null ? "" : `${s.mean.toFixed(2)} ± ${(s.sd ?? 0).toFixed(2)}`;
}

/** The depth table, with llama-benchy's columns (t/s, ttfr, est_ppt, e2e_ttft in ms) plus prompt tokens and errors. */
export function renderDepthTable(report: DepthReport): string {
  const s = report.settings;
  const lines = [
    `bench --depths ${report.endpoint}  model ${report.model}  pp${s.pp} tg${s.tg}` +
      `  ${s.runs} run(s) per depth, one at a time` +
      `  temperature ${s.temperature}  thinking off  latency estimate ${s.latencyEstimateMs} ms`,
  ];
  const head = ["test", "prompt tok", "t/s", "ttfr (ms)", "est_ppt (ms)", "e2e_ttft (ms)", "errors"];
  const rows: string[][] = [];
  for (const d of report.depths) {
    const at = d.depth > 0 ? ` @ d${d.depth}` : "";
    rows.push([
      `pp${s.pp}${at}`,
      d.promptTokens.mean === null ? "-" : String(Math.round(d.promptTokens.mean)),
      pm(d.ppTokPerS),
      pm(d.ttfrMs),
      pm(d.estPptMs),
      pm(d.ttftMs),
      String(d.errors),
    ]);
    rows.push([`tg${s.tg}${at}`, "", pm(d.tgTokPerS), "", "", "", ""]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  lines.push(fmt(head));
  for (const r of rows) lines.push(fmt(r));
  const failing = report.depths.filter((d) => d.errors > 0);
  if (failing.length) {
    lines.push("", `ERRORS: ${report.totalErrors} request(s) failed`);
    for (const d of failing) {
      lines.push(
        `  d${d.depth}: ${Object.entries(d.errorKinds)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
      );
      for (const m of d.errorSamples) lines.push(`    e.g. ${m}`);
    }
  }
  const hits = report.depths.reduce((n, d) => n + (d.cachedPromptTokens ?? 0), 0);
  if (hits > 0)
    lines.push(
      `WARNING: the server reported ${hits} prefix-cached prompt token(s): pp figures are flattered by the cache`,
    );
  return `${lines.join("\n")}\n`;
}
