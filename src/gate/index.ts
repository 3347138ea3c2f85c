/**
 * The gate library: the checks that qualify a running deployment (RECIPE "Validation gates" plus
 * the public canaries) and the report. The `dgx-spark-vllm gate` command is src/cli/gate.ts.
 */
export { bootGate } from "./boot";
export type { BootGateOptions } from "./boot";
export { judgeLogs, logsGate, sshDockerLogs, fileLogs, DEFAULT_FORBIDDEN_MARKERS } from "./logs";
export type { LogSource } from "./logs";
export { parseMemAvailableMb, sshMemorySampler, localMemorySampler, functionSampler } from "./memory";
export type { MemorySampler } from "./memory";
export { latinShare, qualityGate } from "./quality";
export { securityGate } from "./security";
export { mtpGate, soakGate, runTraffic, MIN_SOAK_VERDICT_MS } from "./traffic";
export { needleGate, DEFAULT_NEEDLE_POSITIONS } from "./needle";
export type { NeedleOptions, NeedleProbe } from "./needle";
export { runGate, renderGateReport, CHECK_ORDER } from "./run";
export type { GateOptions } from "./run";
export { CHECK_NAMES } from "./types";
export type { CheckName, CheckResult, CheckStatus, GateReport } from "./types";
