/**
 * `dgx-spark-vllm repair`: re-applies, over SSH, the plan's own host and link steps for the
 * checks doctor finds failing (src/repair/). Exit code: 0 nothing to do or all repaired,
 * 1 something left, 2 bad input or a node refused (its engine is serving).
 */
import { ConfigError } from "../config/errors";
import { renderRepairReport, runRepair } from "../repair/run";
import type { SshSettings } from "../ssh/session";
import { readStackAccess, type StackAccess } from "./args";
import { type CliIo, parseOptions, STACK_OPTIONS, UsageError } from "./options";

export const REPAIR_USAGE = `usage: dgx-spark-vllm repair [--stack <name> | --config <file>] [--node <name>]...
                             [--dry-run] [--json] [--identity <key file>] [--instance <name>]
                             [--force-serving]

Runs doctor, then re-applies over SSH the plan's own idempotent host and link steps (the scripts
the components run) for the checks that fail: MTU, addresses, GID, netplan file and boot unit,
swap, vm.min_free_kbytes. Then runs doctor again and reports before and after.
  --stack NAME        read stacks/Pulumi.NAME.yaml (default: 1m)
  --config FILE       a Pulumi stack file, or a cluster object in YAML or JSON
  --node NAME         repair only this node (repeatable; default: every node)
  --dry-run           list per node the steps it would run; run nothing
  --json              print the report as JSON
  --identity FILE     SSH private key file (default: the config's key when readable, else the ssh agent)
  --instance NAME     the cluster's instance name, when it was deployed with one (a DeepSeekV4Cluster
                      in your own program: its component name); default: the plain names
  --force-serving     also repair a node whose engine container is up (a live NCCL job on the link hangs)
The API key for doctor's /v1/models check is read from $VLLM_API_KEY when set.
Exit: 0 nothing to do or all repaired, 1 something left, 2 bad input or a node refused.
`;

export async function runRepairCli(
  argv: readonly string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
  ssh: Pick<SshSettings, "sshCommand" | "extraOptions"> = {},
): Promise<number> {
  const parsed = parseOptions(
    argv,
    {
      ...STACK_OPTIONS,
      node: { type: "string", multiple: true },
      "dry-run": { type: "boolean" },
      "force-serving": { type: "boolean" },
    },
    REPAIR_USAGE,
    io,
  );
  if (typeof parsed === "number") return parsed;
  const values = parsed as unknown as {
    stack?: string;
    config?: string;
    node?: string[];
    "dry-run"?: boolean;
    json?: boolean;
    identity?: string;
    instance?: string;
    "force-serving"?: boolean;
  };
  let access: StackAccess;
  const nodes = values.node ?? [];
  try {
    access = readStackAccess(values, env);
    const names = access.plan.nodes.map((n) => n.name);
    const unknown = nodes.filter((n) => !names.includes(n));
    if (unknown.length)
      throw new UsageError(`--node ${unknown.join(", ")}: not a node of ${access.source} (nodes: ${names.join(", ")})`);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) {
      io.err(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const report = await runRepair(access.plan, access.source, {
    ...ssh,
    ...access.ssh,
    ...(access.apiKey !== undefined ? { apiKey: access.apiKey } : {}),
    nodes,
    dryRun: values["dry-run"] ?? false,
    forceServing: values["force-serving"] ?? false,
    progress: (l) => io.err(`${l}\n`),
  });
  io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderRepairReport(report));
  return report.exitCode;
}
