#!/usr/bin/env node
/**
 * dgx-spark-vllm command line. `plan` prints what a deployment will do, without Pulumi or hardware.
 * Exit codes: 0 ok, 1 unexpected error, 2 invalid config or usage.
 */
import { ConfigError } from "../config/errors";
import { planDeploymentFromInput } from "../plan/replicas";
import { didYouMean } from "../config/suggest";
import { packageVersion, readClusterInput } from "./args";
import { runBenchCli } from "./bench";
import { runDoctorCli } from "./doctor";
import { runGateCli } from "./gate";
import { runRecommendCli } from "./recommend";
import { runRepairCli } from "./repair";
import { runLogsCli, runStatusCli } from "./status";
import { type CliIo, parseOptions } from "./options";
import { renderDeploymentSummary, renderSummary } from "./summary";

export type { CliIo } from "./options";

const COMMANDS = ["plan", "recommend", "doctor", "repair", "bench", "gate", "status", "logs"];

const USAGE = `usage: dgx-spark-vllm plan [--stack <1m|512k|256k|name> | --config <file>] [--json]   (dgx-spark-vllm plan --help)
       dgx-spark-vllm recommend --context <tokens> --concurrency <n> [...]   (dgx-spark-vllm recommend --help)
       dgx-spark-vllm bench --endpoint <url> [...]   (dgx-spark-vllm bench --help)
       dgx-spark-vllm gate --endpoint <url> --suite <...> | --all [...]   (dgx-spark-vllm gate --help)
       dgx-spark-vllm doctor [--stack <name> | --config <file>] [--json] [...]   (dgx-spark-vllm doctor --help)
       dgx-spark-vllm repair [--stack <name> | --config <file>] [--dry-run] [...]   (dgx-spark-vllm repair --help)
       dgx-spark-vllm status [--stack <name> | --config <file>] [--watch [s]] [--json]   (dgx-spark-vllm status --help)
       dgx-spark-vllm logs [--stack <name> | --config <file>] [--follow] [--since T]   (dgx-spark-vllm logs --help)
       dgx-spark-vllm --version | --help
`;

const PLAN_USAGE = `usage: dgx-spark-vllm plan [--stack <1m|512k|256k|name> | --config <file>] [--json]

Print what a deployment will do (no Pulumi, no hardware): the config checked, every problem at once.

  --stack NAME   read stacks/Pulumi.NAME.yaml (default: 1m)
  --config FILE  read a Pulumi stack file, or a cluster object in YAML or JSON
  --json         print the ClusterPlan as JSON (shape: docs/configuration.md "Plan JSON")
  -h, --help     print this help

Exit codes: 0 ok, 2 invalid config or usage.
`;

export function runCli(argv: readonly string[], io: CliIo): number {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.err(USAGE);
    return 2;
  }
  if (command === "--help" || command === "-h" || command === "help") {
    io.out(USAGE);
    return 0;
  }
  if (command === "--version" || command === "-V" || command === "version") {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  if (command === "recommend") return runRecommendCli(rest, io);
  if (command !== "plan") {
    const hint = didYouMean(command, [...COMMANDS, "--help", "--version"]);
    io.err(`unknown command '${command}'${hint}\n\n${USAGE}`);
    return 2;
  }
  const parsed = parseOptions(
    rest,
    {
      stack: { type: "string" },
      config: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    PLAN_USAGE,
    io,
  );
  if (typeof parsed === "number") return parsed;
  const values = parsed as { stack?: string; config?: string; json?: boolean };
  try {
    const { input, source } = readClusterInput(values);
    const d = planDeploymentFromInput(input, "plan");
    const one = d.replicas.length === 1 && !d.router ? d.replicas[0] : undefined;
    if (one) io.out(values.json ? `${JSON.stringify(one, null, 2)}\n` : renderSummary(one, source));
    else io.out(values.json ? `${JSON.stringify(d, null, 2)}\n` : renderDeploymentSummary(d, source));
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`${e.message}\n`);
      if (values.json) io.out(`${JSON.stringify({ error: "invalid-config", problems: e.problems }, null, 2)}\n`);
      return 2;
    }
    throw e;
  }
}

/** Every command: `plan` (synchronous), `bench` and `gate` (they talk to a running server), `doctor` and `repair` (SSH). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "bench") return runBenchCli(rest, io);
  if (command === "gate") return runGateCli(rest, io);
  if (command === "doctor") return runDoctorCli(rest, io);
  if (command === "repair") return runRepairCli(rest, io);
  if (command === "status" || command === "logs") {
    // Ctrl-C ends --watch / --follow cleanly (the ssh processes are stopped).
    const stop = new AbortController();
    const onInt = () => stop.abort();
    process.once("SIGINT", onInt);
    try {
      const run = command === "status" ? runStatusCli : runLogsCli;
      return await run(rest, io, process.env, { signal: stop.signal });
    } finally {
      process.removeListener("SIGINT", onInt);
    }
  }
  return runCli(argv, io);
}

if (require.main === module) {
  const io: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };
  main(process.argv.slice(2), io).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      io.err(`dgx-spark-vllm: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
