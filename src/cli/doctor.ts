/**
 * `dgx-spark-vllm doctor`: a read-only health check of every node over SSH (src/doctor/).
 * Exit code: 0 all PASS, 1 warnings, 2 failures (or bad usage/config).
 */
import { ConfigError } from "../config/errors";
import { renderReport, runDoctor } from "../doctor/run";
import type { SshSettings } from "../ssh/session";
import { readStackAccess, type StackAccess } from "./args";
import { type CliIo, parseOptions, STACK_OPTIONS, UsageError } from "./options";

const USAGE =
  `usage: dgx-spark-vllm doctor [--stack <name> | --config <file>] [--json] [--identity <key file>]` +
  ` [--instance <name>] [--rdma] [--api-key-env NAME]

Read-only health check of every node over SSH (BatchMode), before and after deploying.
  --stack NAME        read stacks/Pulumi.NAME.yaml (default: 1m)
  --config FILE       a Pulumi stack file, or a cluster object in YAML or JSON
  --json              print the report as JSON
  --identity FILE     SSH private key file (default: the config's key when readable, else the ssh agent)
  --instance NAME     the cluster's instance name, when it was deployed with one (a DeepSeekV4Cluster
                      in your own program: its component name); default: the plain names
  --rdma              also read the engine log for NCCL's transport (NET/IB vs NET/Socket)
  --api-key-env NAME  variable holding the API key for /v1/models (default: $VLLM_API_KEY)
Exit: 0 all PASS, 1 warnings, 2 failures or bad input.
`;

export async function runDoctorCli(
  argv: readonly string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
  ssh: Pick<SshSettings, "sshCommand" | "extraOptions"> = {},
): Promise<number> {
  const parsed = parseOptions(
    argv,
    { ...STACK_OPTIONS, rdma: { type: "boolean" }, "api-key-env": { type: "string" } },
    USAGE,
    io,
  );
  if (typeof parsed === "number") return parsed;
  const values = parsed as {
    stack?: string;
    config?: string;
    json?: boolean;
    identity?: string;
    instance?: string;
    rdma?: boolean;
    "api-key-env"?: string;
  };
  let access: StackAccess;
  try {
    access = readStackAccess(values, env, values["api-key-env"]);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) {
      io.err(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const report = await runDoctor(access.plan, access.source, {
    ...ssh,
    ...access.ssh,
    ...(access.apiKey !== undefined ? { apiKey: access.apiKey } : {}),
    rdma: values.rdma ?? false,
    repairCommand: access.repairCommand,
    progress: (l) => io.err(`${l}\n`),
  });
  io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  return report.exitCode;
}
