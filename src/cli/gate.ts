/**
 * `dgx-spark-vllm gate`: qualify a running deployment (RECIPE "Validation gates" plus the public
 * canaries). Exit codes: 0 every selected check passed or was skipped; 1 a check failed; 2 usage
 * or invalid config.
 */
import { writeFileSync } from "node:fs";
import { ConfigError } from "../config/errors";
import { fileLogs, type LogSource, sshDockerLogs } from "../gate/logs";
import { localMemorySampler, type MemorySampler, sshMemorySampler } from "../gate/memory";
import { renderGateReport, runGate } from "../gate/run";
import { MIN_SOAK_VERDICT_MS } from "../gate/traffic";
import { NEEDLE_HEADROOM_TOKENS } from "../gate/needle";
import { LONG_CONTEXT_THRESHOLD } from "../profiles";
import { CHECK_NAMES, type CheckName, type GateReport } from "../gate/types";
import type { ClusterPlan } from "../plan/types";
import { SshSession, type SshSettings } from "../ssh/session";
import { checkIdentityFile, readClusterPlan } from "./args";
import {
  apiKeyFromEnv,
  checkEndpoint,
  type CliIo,
  parseCommandArgs,
  parseNumber,
  parsePositiveInt,
  parseSeconds,
  parseTokenCount,
  timeoutsFrom,
  UsageError,
} from "./options";

export const GATE_USAGE = `usage: dgx-spark-vllm gate (--suite LIST | --all) [--endpoint URL] [expectations] [options]

Qualifies a running deployment before it is promoted. Checks (run in this order):
  boot      /health answers 200; /v1/models lists the served name with the profile's max_model_len
  security  a request without the API key gets 401/403 (skipped when no key is configured)
  quality   JSON mode parses, English answered in Latin script, 7x19 = 133, forced tool call
  needle    long context (1m/512k profiles): a fact hidden at several depths of a --max-depth
            token prompt must be given back (run by --all only when max_model_len > 262144)
  mtp       mixed greedy + non-greedy concurrent streams for --mtp-duration: no refused
            connection, 5xx, dropped/truncated/stalled stream or engine death
  soak      zero-gap traffic for --soak-duration while each node's MemAvailable is sampled;
            fails when free memory falls faster than --max-memory-decline MB/h
  logs      head container logs over SSH (or --logs-file): NET/IB present, the profile's KV
            dtype, no "fall back to" / "Marlin" / "emulation"

  --suite LIST            comma-separated checks, e.g. boot,mtp,soak,quality,security,logs
  --all                   every check (logs only when a log source is known)
  --endpoint URL          server (default: the plan's endpoint when --stack/--config is given)
  --api-key-env NAME      read the API key from environment variable NAME (default: $VLLM_API_KEY
                          when set). Keys are never accepted on the command line.
Expectations (served name, max_model_len, nodes for SSH) from one of:
  --stack NAME | --config FILE   a stack or config, as \`plan\` reads them (default: --stack 1m)
  --max-model-len N [--served-name NAME]   explicit (served name default deepseek-v4)
Options:
  --boot-wait S           keep polling /health for up to S seconds (default 0: one attempt)
  --concurrency N         streams for mtp and soak (default: the profile's max-num-seqs, else 6)
  --max-tokens N          max_tokens for mtp and soak requests (default 256)
  --mtp-duration S        default 600
  --soak-duration S       default 1800 (RECIPE: ~30 min)
  --health-interval S     /health poll during mtp and soak (default 5)
  --sampler ssh|local|none   free-memory sampler (default ssh when nodes are known)
  --sample-interval S     default 30
  --max-memory-decline MB_PER_HOUR   default 500
  --soak-min-verdict S    a soak shorter than this gets no free-memory verdict: the soak check is
                          INCONCLUSIVE, not passed or failed on noise (default 300)
  --max-depth N           needle prompt length in tokens, e.g. 900k (default: max_model_len - 1024)
  --needle-positions LIST where the needles go, as fractions of the prompt (default 0.1,0.5,0.9)
  --needle-timeout S      first-token and total timeout per needle request (default 2400: a
                          prompt near 1M tokens takes many minutes to prefill on two Sparks)
  --logs-file FILE        judge this log file instead of docker logs over SSH
  --identity FILE         SSH private key for the logs and the ssh sampler (default: the config's
                          key when readable, else the ssh agent). SSH checks each node's pinned
                          host key (nodes[].ssh.hostKey) when the config has one.
  --first-token-timeout S / --idle-timeout S / --request-timeout S   (180 / 60 / 600)
  --json                  print the report as JSON
  --report FILE           also write the JSON report to FILE
  --quiet                 no progress lines

Exit: 0 all selected checks passed (or were skipped), 1 a check failed, 2 usage or invalid config.
`;

export interface GateCliDeps {
  readonly env?: NodeJS.ProcessEnv;
  /** ssh executable (tests point this at a stand-in script). */
  readonly sshCommand?: string;
  /** Told the session the gate's SSH runs through (tests). */
  readonly onSession?: (session: SshSession) => void;
  /** Replace the memory samplers (tests). */
  readonly samplers?: readonly MemorySampler[];
}

interface Expectations {
  servedName: string;
  maxModelLen: number;
  source: string;
  plan?: ClusterPlan;
  privateKeys?: Readonly<Record<string, string>>;
}

function parseSuite(v: string): CheckName[] {
  const out: CheckName[] = [];
  for (const raw of v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(CHECK_NAMES as readonly string[]).includes(raw))
      throw new UsageError(`--suite: unknown check '${raw}' (known: ${CHECK_NAMES.join(", ")})`);
    if (!out.includes(raw as CheckName)) out.push(raw as CheckName);
  }
  if (out.length === 0) throw new UsageError("--suite needs at least one check");
  return out;
}

/** The gate's own flags (parseCommandArgs adds the common ones: --endpoint, --api-key-env, --json, --quiet, timeouts). */
const GATE_FLAGS = {
  suite: { type: "string" },
  all: { type: "boolean" },
  stack: { type: "string" },
  config: { type: "string" },
  "max-model-len": { type: "string" },
  "served-name": { type: "string" },
  "boot-wait": { type: "string" },
  concurrency: { type: "string" },
  "max-tokens": { type: "string" },
  "mtp-duration": { type: "string" },
  "soak-duration": { type: "string" },
  "health-interval": { type: "string" },
  sampler: { type: "string" },
  "sample-interval": { type: "string" },
  "max-memory-decline": { type: "string" },
  "soak-min-verdict": { type: "string" },
  "logs-file": { type: "string" },
  "max-depth": { type: "string" },
  "needle-positions": { type: "string" },
  "needle-timeout": { type: "string" },
  report: { type: "string" },
  identity: { type: "string" },
} as const;

type GateValues = Exclude<ReturnType<typeof parseCommandArgs>, number>;
type GateOptions = Parameters<typeof runGate>[0];

/** What building the gate's options reads and what it leaves behind to close. */
interface GateCliCtx {
  readonly values: GateValues;
  readonly str: (k: string) => string | undefined;
  readonly say: ((line: string) => void) | undefined;
  readonly deps: GateCliDeps;
  readonly env: NodeJS.ProcessEnv;
  /** Set once SSH to the nodes is opened; closed by runGateCli whatever happens. */
  session?: SshSession;
}

export async function runGateCli(argv: readonly string[], io: CliIo, deps: GateCliDeps = {}): Promise<number> {
  const values = parseCommandArgs(argv, GATE_FLAGS, GATE_USAGE, io);
  if (typeof values === "number") return values;
  const ctx: GateCliCtx = {
    values,
    str: (k) => values[k] as string | undefined,
    say: values.quiet ? undefined : (line) => io.err(`${line}\n`),
    deps,
    env: deps.env ?? process.env,
  };
  let gateOpts: GateOptions;
  try {
    gateOpts = gateOptions(ctx);
  } catch (e) {
    ctx.session?.close();
    return gateInputError(e, values, io);
  }
  noteShortSoak(gateOpts, ctx.say);
  let report: GateReport;
  try {
    report = await runGate(gateOpts);
  } finally {
    ctx.session?.close();
  }
  return emitGateReport(report, ctx, io);
}

/** Bad flags (exit 2 with the usage) or an invalid config (exit 2 with every problem); anything else is rethrown. */
function gateInputError(e: unknown, values: GateValues, io: CliIo): number {
  if (e instanceof UsageError) {
    io.err(`${e.message}\n\n${GATE_USAGE}`);
    return 2;
  }
  if (e instanceof ConfigError) {
    io.err(`${e.message}\n`);
    if (values.json) io.out(`${JSON.stringify({ error: "invalid-config", problems: e.problems }, null, 2)}\n`);
    return 2;
  }
  throw e;
}

/** Every option of runGate, from the flags, the plan and the environment, in the order they are checked. */
function gateOptions(ctx: GateCliCtx): GateOptions {
  const { values, str, say } = ctx;
  const requested = requestedChecks(ctx);
  const exp = expectations(ctx);
  const endpoint = str("endpoint") ?? exp.plan?.cluster.endpoint;
  if (!endpoint) throw new UsageError("--endpoint is required (or give --stack/--config to use the plan's endpoint)");
  checkEndpoint(endpoint);
  const { key, source: keySource } = apiKeyFromEnv(str("api-key-env"), ctx.env);
  if (keySource) say?.(`using the API key from ${keySource}`);
  if (!key && exp.plan?.cluster.authenticated)
    say?.("note: the plan expects an API key but none was given (--api-key-env NAME): requests may get 401");
  openSession(ctx, exp);
  const logSource = logSourceFor(ctx, exp);
  const unavailable: { name: CheckName; note: string }[] = [];
  if (values.all && exp.maxModelLen <= LONG_CONTEXT_THRESHOLD)
    unavailable.push({
      name: "needle",
      note:
        "the long-context needle check is for the 1m/512k profiles" +
        ` (max_model_len ${exp.maxModelLen} <= ${LONG_CONTEXT_THRESHOLD}); --suite needle runs it anyway`,
    });
  const needle = needleOptions(ctx, exp);
  if (requested.includes("logs") && !logSource) {
    if (!values.all)
      throw new UsageError("--suite logs needs a log source: --stack/--config (SSH to the head) or --logs-file FILE");
    unavailable.push({ name: "logs", note: "no log source (pass --stack/--config for SSH, or --logs-file FILE)" });
  }
  const { samplers, samplerKind } = memorySamplers(ctx, exp);
  return {
    endpoint,
    ...(key ? { apiKey: key } : {}),
    servedName: exp.servedName,
    maxModelLen: exp.maxModelLen,
    expectations: exp.source,
    suite: requested,
    ...trafficOptions(ctx, exp),
    samplers,
    memoryOptOut: samplerKind === "none",
    ...needle,
    ...(logSource ? { logSource } : {}),
    kvCacheDtype: exp.plan?.profile.kvCacheDtype ?? "fp8",
    unavailable,
    ...(say ? { onProgress: say } : {}),
  };
}

/** --suite or --all (exactly one). */
function requestedChecks({ values, str }: GateCliCtx): CheckName[] {
  if (values.all && str("suite")) throw new UsageError("--all and --suite were both given: choose one");
  if (!values.all && !str("suite"))
    throw new UsageError("say which checks to run: --suite boot,mtp,soak,quality,security[,logs] or --all");
  return values.all ? [...CHECK_NAMES] : parseSuite(str("suite") as string);
}

/** What the server must serve: from --max-model-len/--served-name, or from the stack's plan; and --identity. */
function expectations({ str }: GateCliCtx): Expectations {
  let exp: Expectations;
  const explicitLen = str("max-model-len");
  if (explicitLen !== undefined && (str("stack") || str("config")))
    throw new UsageError("--max-model-len replaces --stack/--config: give one or the other");
  if (explicitLen !== undefined) {
    exp = {
      maxModelLen: parsePositiveInt("--max-model-len", explicitLen, 100_000_000),
      servedName: str("served-name") ?? "deepseek-v4",
      source: "command-line flags",
    };
  } else {
    const { plan, source, privateKeys } = readClusterPlan({
      ...(str("stack") ? { stack: str("stack") as string } : {}),
      ...(str("config") ? { config: str("config") as string } : {}),
    });
    const servedName = str("served-name") ?? plan.model.servedName;
    exp = { maxModelLen: plan.profile.maxModelLen, servedName, source, plan, privateKeys };
  }
  const identity = str("identity");
  if (identity !== undefined) {
    if (!exp.plan) throw new UsageError("--identity is for SSH to the nodes: give --stack or --config");
    checkIdentityFile(identity);
  }
  return exp;
}

/** SSH to the nodes (made only when the plan is known): --identity, else the config's keys. */
function openSession(ctx: GateCliCtx, exp: Expectations): void {
  if (!exp.plan) return;
  const identity = ctx.str("identity");
  const settings: SshSettings = {
    ...(ctx.deps.sshCommand ? { sshCommand: [ctx.deps.sshCommand] } : {}),
    ...(identity !== undefined ? { identityFile: identity } : { privateKeys: exp.privateKeys ?? {} }),
  };
  ctx.session = new SshSession(settings);
  ctx.deps.onSession?.(ctx.session);
}

/** The engine's log: --logs-file, else the head's container over SSH. */
function logSourceFor({ str, session }: GateCliCtx, exp: Expectations): LogSource | undefined {
  const head = exp.plan?.nodes.find((n) => n.role === "head");
  if (str("logs-file")) return fileLogs(str("logs-file") as string);
  if (head && session) return sshDockerLogs(session, head, head.container.name);
  return undefined;
}

/** --max-depth (it must fit max_model_len with room for the question) and --needle-positions. */
function needleOptions(
  { str }: GateCliCtx,
  exp: Expectations,
): Pick<GateOptions, "needleMaxDepth" | "needlePositions"> {
  let needleMaxDepth: number | undefined;
  if (str("max-depth") !== undefined) {
    needleMaxDepth = parseTokenCount("--max-depth", str("max-depth") as string, 256);
    if (needleMaxDepth + NEEDLE_HEADROOM_TOKENS > exp.maxModelLen)
      throw new UsageError(
        `--max-depth ${needleMaxDepth} does not fit max_model_len ${exp.maxModelLen}` +
          ` with ${NEEDLE_HEADROOM_TOKENS} tokens for the question and answer` +
          `: use at most ${exp.maxModelLen - NEEDLE_HEADROOM_TOKENS}`,
      );
  }
  let needlePositions: number[] | undefined;
  if (str("needle-positions") !== undefined) {
    needlePositions = (str("needle-positions") as string)
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => parseNumber("--needle-positions", p, 0, 1));
    if (needlePositions.length === 0)
      throw new UsageError("--needle-positions needs at least one fraction, e.g. 0.1,0.5,0.9");
  }
  return {
    ...(needleMaxDepth !== undefined ? { needleMaxDepth } : {}),
    ...(needlePositions ? { needlePositions } : {}),
  };
}

/** The free-memory samplers for the soak: over SSH to every node (default with a plan), this machine, or none. */
function memorySamplers(
  { str, deps, session }: GateCliCtx,
  exp: Expectations,
): { samplers: MemorySampler[]; samplerKind: string | undefined } {
  const samplerKind = str("sampler") ?? (exp.plan ? "ssh" : undefined);
  let samplers: MemorySampler[] = [];
  if (deps.samplers) samplers = [...deps.samplers];
  else if (samplerKind === "ssh") {
    if (!exp.plan || !session) throw new UsageError("--sampler ssh needs the nodes: give --stack or --config");
    const ssh = session;
    samplers = exp.plan.nodes.map((n) => sshMemorySampler(ssh, n));
  } else if (samplerKind === "local") samplers = [localMemorySampler()];
  else if (samplerKind !== undefined && samplerKind !== "none")
    throw new UsageError(`--sampler must be ssh, local or none, not '${samplerKind}'`);
  return { samplers, samplerKind };
}

/** The concurrency, the request timeouts, the boot wait, the mtp and soak traffic, the soak's sampling and thresholds, the needle's timeout. */
function trafficOptions({ values, str }: GateCliCtx, exp: Expectations) {
  const seconds = (flag: string, dflt: number) =>
    str(flag) !== undefined ? parseSeconds(`--${flag}`, str(flag) as string) : dflt;
  const concurrency =
    str("concurrency") !== undefined
      ? parsePositiveInt("--concurrency", str("concurrency") as string, 1024)
      : exp.plan
        ? exp.plan.profile.maxNumSeqs
        : 6;
  return {
    concurrency,
    timeouts: timeoutsFrom(values),
    bootWaitMs:
      str("boot-wait") !== undefined
        ? Math.round(parseNumber("--boot-wait", str("boot-wait") as string, 0, 86_400) * 1000)
        : 0,
    maxTokens:
      str("max-tokens") !== undefined ? parsePositiveInt("--max-tokens", str("max-tokens") as string, 1_000_000) : 256,
    mtpDurationMs: seconds("mtp-duration", 600_000),
    soakDurationMs: seconds("soak-duration", 1_800_000),
    healthIntervalMs: seconds("health-interval", 5_000),
    sampleIntervalMs: seconds("sample-interval", 30_000),
    maxDeclineMbPerHour:
      str("max-memory-decline") !== undefined
        ? parseNumber("--max-memory-decline", str("max-memory-decline") as string, 0, 1e9)
        : 500,
    soakMinVerdictMs:
      str("soak-min-verdict") !== undefined
        ? Math.round(parseNumber("--soak-min-verdict", str("soak-min-verdict") as string, 0, 86_400) * 1000)
        : MIN_SOAK_VERDICT_MS,
    ...(str("needle-timeout") !== undefined ? { needleTimeoutMs: seconds("needle-timeout", 2_400_000) } : {}),
  };
}

/** A soak too short for a free-memory verdict is said up front. */
function noteShortSoak(gateOpts: GateOptions, say: ((line: string) => void) | undefined): void {
  if (
    gateOpts.suite.includes("soak") &&
    gateOpts.samplers.length > 0 &&
    gateOpts.soakDurationMs < (gateOpts.soakMinVerdictMs ?? MIN_SOAK_VERDICT_MS)
  )
    say?.(
      `note: --soak-duration ${gateOpts.soakDurationMs / 1000} s is under the` +
        ` ${(gateOpts.soakMinVerdictMs ?? MIN_SOAK_VERDICT_MS) / 1000} s a free-memory verdict needs:` +
        " the soak's memory verdict will be inconclusive",
    );
}

/** The report as text or JSON, and to --report FILE; the exit code. */
function emitGateReport(report: GateReport, { values, str, say }: GateCliCtx, io: CliIo): number {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (values.json) io.out(json);
  else io.out(renderGateReport(report));
  const reportFile = str("report");
  if (reportFile) {
    try {
      writeFileSync(reportFile, json);
      say?.(`report written to ${reportFile}`);
    } catch (e) {
      io.err(`cannot write the report to ${reportFile}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  return report.ok ? 0 : 1;
}
