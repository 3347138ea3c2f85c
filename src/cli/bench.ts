/**
 * `dgx-spark-vllm bench`: the RECIPE benchmark sweep against a running OpenAI-compatible server.
 * Exit codes: 0 ok; 1 a request failed, the server could not be reached, or a regression beyond
 * the tolerance; 2 usage.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { compareToBaseline, validateBaseline, type BaselineComparison } from "../bench/baseline";
import { renderTable } from "../bench/render";
import { type BenchReport, runBench } from "../bench/run";
import { renderSvg } from "../bench/svg";
import {
  apiKeyFromEnv,
  checkEndpoint,
  type CliIo,
  parseCommandArgs,
  parseIntList,
  parseNumber,
  parsePositiveInt,
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
  --chart FILE.svg        also write an SVG chart (throughput and latency against concurrency)
  --baseline FILE.json    compare with an earlier --json report; exit 1 on a regression
  --tolerance F           allowed relative regression, e.g. 0.1 = 10% (default 0.1)
  --quiet                 no progress lines

Exit: 0 ok, 1 request errors or regression or server unreachable, 2 usage.
`;

export interface BenchCliDeps {
  /** Environment to read the API key from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export async function runBenchCli(argv: readonly string[], io: CliIo, deps: BenchCliDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const values = parseCommandArgs(
    argv,
    {
      model: { type: "string" },
      levels: { type: "string" },
      "max-tokens": { type: "string" },
      temperature: { type: "string" },
      requests: { type: "string" },
      "no-warmup": { type: "boolean" },
      chart: { type: "string" },
      baseline: { type: "string" },
      tolerance: { type: "string" },
    },
    BENCH_USAGE,
    io,
  );
  if (typeof values === "number") return values;
  const str = (k: string) => values[k] as string | undefined;
  let opts: Parameters<typeof runBench>[0];
  let baseline: BenchReport | undefined;
  let tolerance = 0.1;
  try {
    const endpoint = str("endpoint");
    if (!endpoint) throw new UsageError("--endpoint is required (e.g. --endpoint http://spark-head.local:8000)");
    checkEndpoint(endpoint);
    const { key, source } = apiKeyFromEnv(str("api-key-env"), env);
    if (source && !values.quiet) io.err(`using the API key from ${source}\n`);
    if (str("tolerance") !== undefined) {
      if (!str("baseline")) throw new UsageError("--tolerance only applies with --baseline FILE");
      tolerance = parseNumber("--tolerance", str("tolerance") as string, 0, 10);
    }
    const b = str("baseline");
    if (b) {
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(b, "utf8"));
      } catch (e) {
        throw new UsageError(
          `--baseline ${b}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : `cannot be read as JSON (${(e as Error).message})`}`,
        );
      }
      const problem = validateBaseline(doc);
      if (problem) throw new UsageError(`--baseline ${b} ${problem}`);
      baseline = doc as BenchReport;
    }
    const requests =
      str("requests") !== undefined ? parsePositiveInt("--requests", str("requests") as string, 100_000) : undefined;
    opts = {
      endpoint,
      ...(key ? { apiKey: key } : {}),
      ...(str("model") ? { model: str("model") as string } : {}),
      levels:
        str("levels") !== undefined ? parseIntList("--levels", str("levels") as string, 4096) : [1, 6, 12, 24, 32],
      maxTokens:
        str("max-tokens") !== undefined
          ? parsePositiveInt("--max-tokens", str("max-tokens") as string, 1_000_000)
          : 128,
      temperature:
        str("temperature") !== undefined ? parseNumber("--temperature", str("temperature") as string, 0, 2) : 0.7,
      ...(requests !== undefined ? { requests: () => requests } : {}),
      warmup: !values["no-warmup"],
      timeouts: timeoutsFrom(values),
      ...(values.quiet ? {} : { onProgress: (line: string) => io.err(`${line}\n`) }),
    };
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n\n${BENCH_USAGE}`);
      return 2;
    }
    throw e;
  }

  let report: BenchReport;
  try {
    report = await runBench(opts);
  } catch (e) {
    io.err(`bench: ${(e as Error).message}\n`);
    if (values.json)
      io.out(`${JSON.stringify({ kind: "dgx-spark-vllm.bench", error: (e as Error).message }, null, 2)}\n`);
    return 1;
  }
  let comparison: BaselineComparison | undefined;
  if (baseline) comparison = compareToBaseline(report, baseline, tolerance, str("baseline") as string);
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
