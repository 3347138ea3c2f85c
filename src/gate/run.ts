/** Run the selected validation gates in order and collect one report. */
import { DEFAULT_TIMEOUTS, displayEndpoint, normalizeEndpoint, type Timeouts } from "../bench/client";
import { bootGate } from "./boot";
import { type LogSource, logsGate } from "./logs";
import type { MemorySampler } from "./memory";
import { DEFAULT_NEEDLE_POSITIONS, NEEDLE_HEADROOM_TOKENS, needleGate } from "./needle";
import { qualityGate } from "./quality";
import { securityGate } from "./security";
import { mtpGate, soakGate } from "./traffic";
import type { CheckName, CheckResult, GateReport } from "./types";

export interface GateOptions {
  readonly endpoint: string;
  readonly apiKey?: string;
  readonly servedName: string;
  readonly maxModelLen: number;
  /** Where servedName/maxModelLen came from, for the report. */
  readonly expectations: string;
  readonly suite: readonly CheckName[];
  readonly timeouts?: Timeouts;
  /** boot: how long to wait for /health (0: one attempt). */
  readonly bootWaitMs?: number;
  readonly bootPollMs?: number;
  /** mtp and soak. */
  readonly concurrency: number;
  readonly maxTokens: number;
  readonly mtpDurationMs: number;
  readonly soakDurationMs: number;
  readonly healthIntervalMs?: number;
  readonly samplers: readonly MemorySampler[];
  readonly memoryOptOut?: boolean;
  readonly sampleIntervalMs: number;
  readonly maxDeclineMbPerHour: number;
  /** Shortest soak given a free-memory verdict (default 300 s); shorter soaks are "inconclusive". */
  readonly soakMinVerdictMs?: number;
  /** needle: prompt length in tokens and where the needles go (fractions of the prompt). */
  readonly needleMaxDepth?: number;
  readonly needlePositions?: readonly number[];
  /** needle: first-token and total timeout per request (a 1M-token prefill takes many minutes). */
  readonly needleTimeoutMs?: number;
  readonly logSource?: LogSource;
  readonly kvCacheDtype: string;
  readonly forbiddenMarkers?: readonly string[];
  /** Checks that were asked for (e.g. by --all) but cannot run, with why. */
  readonly unavailable?: readonly { readonly name: CheckName; readonly note: string }[];
  readonly onProgress?: (line: string) => void;
}

/** Order in which checks run: quick ones first, the long soak near the end. */
export const CHECK_ORDER: readonly CheckName[] = ["boot", "security", "quality", "needle", "mtp", "soak", "logs"];

function skipped(name: CheckName, note: string): CheckResult {
  return { name, status: "skip", summary: `skipped: ${note}`, problems: [], notes: [], durationMs: 0, details: {} };
}

export async function runGate(opts: GateOptions): Promise<GateReport> {
  const startedAt = new Date().toISOString();
  const say = opts.onProgress ?? (() => undefined);
  const base = normalizeEndpoint(opts.endpoint);
  const ctx: CheckCtx = {
    common: { endpoint: base, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) },
    timeouts: opts.timeouts ?? DEFAULT_TIMEOUTS,
    say,
  };
  const checks: CheckResult[] = [];
  let serverDown: string | undefined;
  const want = new Set(opts.suite);
  for (const name of CHECK_ORDER) {
    const unavailable = opts.unavailable?.find((u) => u.name === name);
    if (unavailable) {
      checks.push(skipped(name, unavailable.note));
      continue;
    }
    if (!want.has(name)) continue;
    if (serverDown && name !== "logs") {
      checks.push(skipped(name, `not run: ${serverDown}`));
      continue;
    }
    say(`${name}: running`);
    const r = await CHECKS[name](opts, ctx);
    if (name === "boot" && r.status === "fail" && r.details.health === "fail")
      serverDown = "the server is not healthy (boot failed)";
    say(`${name}: ${r.status.toUpperCase()}: ${r.summary}`);
    checks.push(r);
  }
  return {
    schemaVersion: 1,
    kind: "dgx-spark-vllm.gate",
    endpoint: displayEndpoint(base),
    servedName: opts.servedName,
    maxModelLen: opts.maxModelLen,
    expectations: opts.expectations,
    startedAt,
    finishedAt: new Date().toISOString(),
    ok: checks.every((c) => c.status !== "fail"),
    checks,
  };
}

/** What every check is given: the endpoint and key, the request timeouts, the progress line. */
interface CheckCtx {
  readonly common: { readonly endpoint: string; readonly apiKey?: string };
  readonly timeouts: Timeouts;
  readonly say: (line: string) => void;
}

/** Each check, run with the gate's options. */
const CHECKS: Record<CheckName, (opts: GateOptions, ctx: CheckCtx) => Promise<CheckResult>> = {
  boot: (opts, { common, timeouts, say }) =>
    bootGate({
      ...common,
      servedName: opts.servedName,
      maxModelLen: opts.maxModelLen,
      timeoutMs: opts.bootWaitMs ?? 0,
      ...(opts.bootPollMs !== undefined ? { pollIntervalMs: opts.bootPollMs } : {}),
      requestTimeoutMs: Math.min(timeouts.totalMs, 30_000),
      onProgress: say,
    }),
  security: (opts, { common, timeouts }) =>
    securityGate({ ...common, model: opts.servedName, timeoutMs: Math.min(timeouts.totalMs, 60_000) }),
  quality: (opts, { common, timeouts }) =>
    qualityGate({
      ...common,
      model: opts.servedName,
      timeoutMs: Math.min(timeouts.totalMs, timeouts.firstTokenMs + 120_000),
    }),
  needle: (opts, { common, timeouts, say }) => {
    const needleMs = opts.needleTimeoutMs ?? 2_400_000;
    return needleGate({
      ...common,
      model: opts.servedName,
      maxDepth: opts.needleMaxDepth ?? opts.maxModelLen - NEEDLE_HEADROOM_TOKENS,
      positions: opts.needlePositions ?? DEFAULT_NEEDLE_POSITIONS,
      maxModelLen: opts.maxModelLen,
      timeouts: {
        ...timeouts,
        firstTokenMs: Math.max(timeouts.firstTokenMs, needleMs),
        totalMs: Math.max(timeouts.totalMs, needleMs + 60_000),
      },
      onProgress: say,
    });
  },
  mtp: (opts, { common, timeouts, say }) =>
    mtpGate({
      ...common,
      model: opts.servedName,
      concurrency: opts.concurrency,
      durationMs: opts.mtpDurationMs,
      maxTokens: opts.maxTokens,
      timeouts,
      ...(opts.healthIntervalMs !== undefined ? { healthIntervalMs: opts.healthIntervalMs } : {}),
      onProgress: say,
    }),
  soak: (opts, { common, timeouts, say }) =>
    soakGate({
      ...common,
      model: opts.servedName,
      concurrency: opts.concurrency,
      durationMs: opts.soakDurationMs,
      maxTokens: opts.maxTokens,
      timeouts,
      ...(opts.healthIntervalMs !== undefined ? { healthIntervalMs: opts.healthIntervalMs } : {}),
      samplers: opts.samplers,
      memoryOptOut: opts.memoryOptOut === true,
      sampleIntervalMs: opts.sampleIntervalMs,
      maxDeclineMbPerHour: opts.maxDeclineMbPerHour,
      ...(opts.soakMinVerdictMs !== undefined ? { minVerdictMs: opts.soakMinVerdictMs } : {}),
      onProgress: say,
    }),
  logs: async (opts) =>
    opts.logSource
      ? logsGate({
          source: opts.logSource,
          kvCacheDtype: opts.kvCacheDtype,
          ...(opts.forbiddenMarkers ? { forbidden: opts.forbiddenMarkers } : {}),
        })
      : skipped("logs", "no log source (pass --stack/--config for SSH, or --logs-file FILE)"),
};

export function renderGateReport(report: GateReport): string {
  const lines = [
    `gate ${report.endpoint}: expecting ${report.servedName} with max_model_len ${report.maxModelLen} (from ${report.expectations})`,
  ];
  const w = Math.max(...report.checks.map((c) => c.name.length), 4);
  const sw = Math.max(...report.checks.map((c) => c.status.length), 4);
  for (const c of report.checks) {
    lines.push(
      `${c.status.toUpperCase().padEnd(sw)}  ${c.name.padEnd(w)}  ${c.summary} (${(c.durationMs / 1000).toFixed(1)} s)`,
    );
    for (const p of c.problems) lines.push(`        - ${p}`);
    for (const n of c.notes) lines.push(`        note: ${n}`);
  }
  const failed = report.checks.filter((c) => c.status === "fail").length;
  const count = (s: string) => report.checks.filter((c) => c.status === s).length;
  const unsure = report.checks.filter((c) => c.status === "inconclusive").map((c) => c.name);
  lines.push(
    report.ok
      ? `RESULT: ${unsure.length ? `PASS, but INCONCLUSIVE for ${unsure.join(", ")}` : "PASS"}` +
          ` (${count("pass")} passed, ${count("skip")} skipped${unsure.length ? `, ${unsure.length} inconclusive` : ""})`
      : `RESULT: FAIL (${failed} of ${report.checks.length} checks failed)`,
  );
  return `${lines.join("\n")}\n`;
}
