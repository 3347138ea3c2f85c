/**
 * `dgx-spark-vllm bench`: the RECIPE benchmark sweep against a running OpenAI-compatible server.
 * Exit codes: 0 ok; 1 a request failed, the server could not be reached, or a regression beyond
 * the tolerance; 2 usage.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type BaselineComparison, compareToBaseline, settingsDifferences, validateBaseline } from "../bench/baseline";
import { type DepthReport, renderDepthTable, runDepthBench } from "../bench/depth";
import { renderTable } from "../bench/render";
import { type BenchReport, defaultRequests, runBench } from "../bench/run";
import { renderDepthSvg, renderSvg } from "../bench/svg";
import {
  apiKeyFromEnv,
  checkEndpoint,
  type CliIo,
  parseCommandArgs,
  parseIntList,
  parseNumber,
  type ParsedValues,
  parsePositiveInt,
  parseTokenCount,
  timeoutsFrom,
  UsageError,
} from "./options";

export const BENCH_USAGE = `usage: dgx-spark-vllm bench --endpoint URL [options]

Sweeps concurrency levels against vLLM's OpenAI-compatible API (RECIPE method): per level one
discarded warm-up round, then max(4 x concurrency, 16) streamed requests with varied prompts,
thinking off, temperature 0.7. Progress goes to stderr, results to stdout.

  --endpoint URL          server, e.g. http://spark-head.local:8000 (a trailing /v1 is fine)
  --api-key-env NAME      read the API key from environment variable NAME (default: $VLLM_API_KEY
                          when set). Keys are never accepted on the command line.
  --model NAME            served model name (default: the first one /v1/models lists)
  --levels LIST           concurrency levels (default 1,6,12,24,32)
  --max-tokens N          max_tokens per request (default 128)
  --temperature T         sampling temperature (default 0.7)
  --requests N            requests per level instead of max(4c,16)
  --no-warmup             skip the discarded warm-up round
  --first-token-timeout S seconds to the first token before a request fails (default 180)
  --idle-timeout S        seconds of silence mid-stream before it counts as stalled (default 60)
  --request-timeout S     seconds per request in total (default 600)
  --json                  print the report as JSON instead of the table
  --chart FILE.svg        also write an SVG chart (aggregate and per-stream tok/s, latency in s,
                          TTFT in ms, each on its own axis, against concurrency)
  --baseline FILE.json    compare with an earlier --json report; exit 1 on a regression. A baseline
                          run with other settings (max_tokens, temperature, warm-up, requests per
                          level) is refused, naming them
  --allow-different-settings   compare anyway; the table then warns, naming the settings
  --tolerance F           allowed relative regression, e.g. 0.1 = 10% (default 0.1)
  --progress-interval S   a progress line this often while requests are in flight (default 5)
  --quiet                 no progress lines

Depth mode (llama-benchy style: pp and tg speed and TTFT at each context depth, one request at a
time, every prompt unique from its first token so prefix caching cannot help):
  --depths LIST           context depths in tokens, e.g. 0,8192,32768,131072
  --pp N                  prompt tokens on top of the depth (default 2048)
  --tg N                  tokens generated per request (default 128; sent with ignore_eos)
  --runs N                measured requests per depth (default 3)
  (--levels, --requests and --baseline do not apply; --chart draws pp tok/s, tg tok/s and TTFT
  in ms against depth)

Exit: 0 ok, 1 request errors or regression or server unreachable, 2 usage.
`;

export interface BenchCliDeps {
  /** Environment to read the API key from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/** bench's own flags (parseCommandArgs adds the common ones: --endpoint, --api-key-env, --json, --quiet, timeouts). */
const BENCH_FLAGS = {
  model: { type: "string" },
  levels: { type: "string" },
  "max-tokens": { type: "string" },
  temperature: { type: "string" },
  requests: { type: "string" },
  "no-warmup": { type: "boolean" },
  chart: { type: "string" },
  baseline: { type: "string" },
  tolerance: { type: "string" },
  "allow-different-settings": { type: "boolean" },
  "progress-interval": { type: "string" },
  depths: { type: "string" },
  pp: { type: "string" },
  tg: { type: "string" },
  runs: { type: "string" },
} as const;

type BenchValues = Exclude<ReturnType<typeof parseCommandArgs>, number>;
type SweepOptions = Parameters<typeof runBench>[0];

/** A sweep's options, and the baseline it is compared with (if any). */
interface SweepPlan {
  readonly opts: SweepOptions;
  readonly baseline?: BenchReport;
  readonly tolerance: number;
}

export async function runBenchCli(argv: readonly string[], io: CliIo, deps: BenchCliDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const values = parseCommandArgs(argv, BENCH_FLAGS, BENCH_USAGE, io);
  if (typeof values === "number") return values;
  const str = (k: string) => values[k] as string | undefined;
  if (str("depths") !== undefined) return runDepthCli(values, io, env);
  for (const flag of ["pp", "tg", "runs"])
    if (str(flag) !== undefined) {
      io.err(`--${flag} applies only with --depths LIST\n\n${BENCH_USAGE}`);
      return 2;
    }
  let sweep: SweepPlan;
  try {
    sweep = sweepPlan(values, io, env);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n\n${BENCH_USAGE}`);
      return 2;
    }
    throw e;
  }
  let report: BenchReport;
  try {
    report = await runBench(sweep.opts);
  } catch (e) {
    io.err(`bench: ${(e as Error).message}\n`);
    if (values.json)
      io.out(`${JSON.stringify({ kind: "dgx-spark-vllm.bench", error: (e as Error).message }, null, 2)}\n`);
    return 1;
  }
  return emitSweep(report, sweep, values, io);
}

/** The sweep's options from the flags, in the order they are checked; a UsageError names the first bad one. */
function sweepPlan(values: BenchValues, io: CliIo, env: NodeJS.ProcessEnv): SweepPlan {
  const str = (k: string) => values[k] as string | undefined;
  const endpoint = str("endpoint");
  if (!endpoint) throw new UsageError("--endpoint is required (e.g. --endpoint http://spark-head.local:8000)");
  checkEndpoint(endpoint);
  const { key, source } = apiKeyFromEnv(str("api-key-env"), env);
  if (source && !values.quiet) io.err(`using the API key from ${source}\n`);
  const { baseline, tolerance } = readBaseline(str("baseline"), str("tolerance"));
  const requests =
    str("requests") !== undefined ? parsePositiveInt("--requests", str("requests") as string, 100_000) : undefined;
  const opts: SweepOptions = {
    endpoint,
    ...(key ? { apiKey: key } : {}),
    ...(str("model") ? { model: str("model") as string } : {}),
    levels: str("levels") !== undefined ? parseIntList("--levels", str("levels") as string, 4096) : [1, 6, 12, 24, 32],
    maxTokens:
      str("max-tokens") !== undefined ? parsePositiveInt("--max-tokens", str("max-tokens") as string, 1_000_000) : 128,
    temperature:
      str("temperature") !== undefined ? parseNumber("--temperature", str("temperature") as string, 0, 2) : 0.7,
    ...(requests !== undefined ? { requests: () => requests } : {}),
    warmup: !values["no-warmup"],
    timeouts: timeoutsFrom(values),
    progressIntervalMs: progressInterval(str("progress-interval")),
    ...(values.quiet ? {} : { onProgress: (line: string) => io.err(`${line}\n`) }),
  };
  if (baseline)
    checkBaselineSettings(opts, requests, baseline, str("baseline") as string, !!values["allow-different-settings"]);
  return { opts, ...(baseline ? { baseline } : {}), tolerance };
}

/** --baseline FILE (an earlier run's JSON report) and --tolerance (only with it; default 10%). */
function readBaseline(
  file: string | undefined,
  toleranceFlag: string | undefined,
): { baseline?: BenchReport; tolerance: number } {
  let tolerance = 0.1;
  if (toleranceFlag !== undefined) {
    if (!file) throw new UsageError("--tolerance only applies with --baseline FILE");
    tolerance = parseNumber("--tolerance", toleranceFlag, 0, 10);
  }
  if (!file) return { tolerance };
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(
      `--baseline ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : `cannot be read as JSON (${(e as Error).message})`}`,
    );
  }
  const problem = validateBaseline(doc);
  if (problem) throw new UsageError(`--baseline ${file} ${problem}`);
  return { baseline: doc as BenchReport, tolerance };
}

/** A baseline run with other settings is refused, unless --allow-different-settings. */
function checkBaselineSettings(
  opts: SweepOptions,
  requests: number | undefined,
  baseline: BenchReport,
  file: string,
  allowDifferent: boolean,
): void {
  const planned = {
    settings: {
      maxTokens: opts.maxTokens,
      temperature: opts.temperature,
      warmup: opts.warmup !== false,
      thinking: false,
      levels: opts.levels,
      requestsPerLevel: opts.levels.map((c) => (requests !== undefined ? requests : defaultRequests(c))),
    },
    ...(opts.model ? { model: opts.model } : {}),
  };
  const differ = settingsDifferences(planned, baseline);
  if (differ.length && !allowDifferent)
    throw new UsageError(
      `--baseline ${file} was run with different settings: ${differ.join("; ")}.` +
        ` Rerun with the baseline's settings, or pass --allow-different-settings to compare anyway`,
    );
}

/** The table or JSON (with the baseline comparison), the chart, and the exit code: 1 on failed requests or regressions. */
function emitSweep(report: BenchReport, sweep: SweepPlan, values: BenchValues, io: CliIo): number {
  const str = (k: string) => values[k] as string | undefined;
  const { baseline, tolerance } = sweep;
  let comparison: BaselineComparison | undefined;
  if (baseline) {
    comparison = compareToBaseline(report, baseline, tolerance, str("baseline") as string);
    if (comparison.settingsDiffer.length)
      io.err(
        `bench: WARNING: comparing with a baseline run with different settings: ${comparison.settingsDiffer.join("; ")}\n`,
      );
  }
  if (values.json) {
    io.out(`${JSON.stringify(comparison ? { ...report, baseline: comparison } : report, null, 2)}\n`);
  } else {
    io.out(renderTable(report, comparison));
  }
  const chart = str("chart");
  if (chart) {
    try {
      writeFileSync(chart, renderSvg(report, baseline));
      if (!values.quiet) io.err(`chart written to ${chart}\n`);
    } catch (e) {
      io.err(`cannot write the chart to ${chart}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  if (report.totalErrors > 0) io.err(`bench: ${report.totalErrors} request(s) failed (see the table); exit 1\n`);
  if (comparison && comparison.regressions.length > 0)
    io.err(
      `bench: ${comparison.regressions.length} regression(s) beyond ${comparison.tolerance * 100}% against ${comparison.baselineFile}; exit 1\n`,
    );
  return report.totalErrors > 0 || (comparison?.regressions.length ?? 0) > 0 ? 1 : 0;
}

function progressInterval(v: string | undefined): number {
  return v === undefined ? 5000 : Math.round(parseNumber("--progress-interval", v, 0.1, 3600) * 1000);
}

/** `--depths 0,8192,...`: whole numbers >= 0, strictly increasing. */
export function parseDepths(v: string): number[] {
  const parts = v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (parts.length === 0) throw new UsageError("--depths needs at least one value, e.g. --depths 0,8192,32768");
  const out = parts.map((p) => parseTokenCount("--depths", p));
  for (let i = 1; i < out.length; i++)
    if ((out[i] as number) <= (out[i - 1] as number))
      throw new UsageError(`--depths must increase: ${out[i]} comes after ${out[i - 1]}`);
  return out;
}

async function runDepthCli(values: ParsedValues, io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const str = (k: string) => values[k] as string | undefined;
  let opts: Parameters<typeof runDepthBench>[0];
  try {
    for (const flag of ["levels", "requests", "baseline", "tolerance", "allow-different-settings", "max-tokens"])
      if (values[flag] !== undefined)
        throw new UsageError(
          `--${flag} does not apply with --depths${flag === "max-tokens" ? " (use --tg N)" : " (depth runs are one request at a time)"}`,
        );
    const endpoint = str("endpoint");
    if (!endpoint) throw new UsageError("--endpoint is required (e.g. --endpoint http://spark-head.local:8000)");
    checkEndpoint(endpoint);
    const { key, source } = apiKeyFromEnv(str("api-key-env"), env);
    if (source && !values.quiet) io.err(`using the API key from ${source}\n`);
    opts = {
      endpoint,
      ...(key ? { apiKey: key } : {}),
      ...(str("model") ? { model: str("model") as string } : {}),
      depths: parseDepths(str("depths") as string),
      pp: str("pp") !== undefined ? parsePositiveInt("--pp", str("pp") as string, 10_000_000) : 2048,
      tg: str("tg") !== undefined ? parsePositiveInt("--tg", str("tg") as string, 1_000_000) : 128,
      runs: str("runs") !== undefined ? parsePositiveInt("--runs", str("runs") as string, 1000) : 3,
      temperature:
        str("temperature") !== undefined ? parseNumber("--temperature", str("temperature") as string, 0, 2) : 0.7,
      warmup: !values["no-warmup"],
      timeouts: timeoutsFrom(values),
      progressIntervalMs: progressInterval(str("progress-interval")),
      ...(values.quiet ? {} : { onProgress: (line: string) => io.err(`${line}\n`) }),
    };
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n\n${BENCH_USAGE}`);
      return 2;
    }
    throw e;
  }
  let report: DepthReport;
  try {
    report = await runDepthBench(opts);
  } catch (e) {
    io.err(`bench: ${(e as Error).message}\n`);
    if (values.json)
      io.out(`${JSON.stringify({ kind: "dgx-spark-vllm.bench-depth", error: (e as Error).message }, null, 2)}\n`);
    return 1;
  }
  io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderDepthTable(report));
  const chart = str("chart");
  if (chart) {
    try {
      writeFileSync(chart, renderDepthSvg(report));
      if (!values.quiet) io.err(`chart written to ${chart}\n`);
    } catch (e) {
      io.err(`cannot write the chart to ${chart}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  if (report.totalErrors > 0) io.err(`bench: ${report.totalErrors} request(s) failed (see the table); exit 1\n`);
  return report.totalErrors > 0 ? 1 : 0;
}
