/**
 * The bench library: the RECIPE benchmark sweep against a running OpenAI-compatible server, its
 * report, table, SVG chart and baseline comparison. The `dgx-spark-vllm bench` command is
 * src/cli/bench.ts.
 */
export { compareToBaseline, settingsDifferences, validateBaseline } from "./baseline";
export type { BaselineComparison, Regression } from "./baseline";
export { OpenAiClient, normalizeEndpoint, displayEndpoint, DEFAULT_TIMEOUTS } from "./client";
export type { ErrorKind, StreamResult, JsonResult, Timeouts, RequestError } from "./client";
export { renderTable } from "./render";
export { runBench, defaultRequests, benchBody, summarizeLevel } from "./run";
export type { BenchOptions, BenchReport, LevelResult } from "./run";
export { renderSvg, renderDepthSvg } from "./svg";
export { runDepthBench, renderDepthTable } from "./depth";
export type { DepthOptions, DepthReport, DepthRow } from "./depth";
