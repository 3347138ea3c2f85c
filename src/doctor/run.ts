/**
 * `dgx-spark-vllm doctor`: a read-only health check of every node over SSH, before and after
 * deploying. One probe per node (in parallel), then the checks (src/doctor/evaluate.ts), printed
 * as a report or as JSON. Exit code: 0 all PASS, 1 warnings, 2 failures (or bad usage/config).
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "../config/errors";
import { Secret } from "../config/secret";
import { loadClusterConfig } from "../config/load";
import { planCluster } from "../plan/cluster";
import type { ClusterPlan } from "../plan/types";
import { readClusterInput } from "../cli/args";
import { apiKeyFromEnv, parseOptions, UsageError, type CliIo } from "../bench/cliutil";
import { classifySshText, evaluate, type Check, type NodeResult, type Status } from "./evaluate";
import { parseProbe, probeScript } from "./probe";
import { SshSession, type SshSettings } from "./ssh";

export interface DoctorOptions extends SshSettings {
  /** API key for /v1/models on the head (never printed). */
  readonly apiKey?: string;
  /** Also read the engine log for NCCL's transport. */
  readonly rdma?: boolean;
  /** Progress lines (stderr in the CLI). */
  readonly progress?: (line: string) => void;
}

export interface DoctorReport {
  readonly stack: string;
  readonly profile: string;
  readonly checks: readonly Check[];
  readonly summary: { readonly pass: number; readonly warn: number; readonly fail: number };
  readonly exitCode: 0 | 1 | 2;
}

export async function runDoctor(plan: ClusterPlan, source: string, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const session = new SshSession(opts);
  const progress = opts.progress ?? (() => undefined);
  try {
    const results = new Map<string, NodeResult>();
    await Promise.all(
      plan.nodes.map(async (node) => {
        progress(`doctor: ${node.name}: probing ${node.ssh.user}@${node.ssh.host} ...`);
        const t0 = Date.now();
        const r = await session.run(node, probeScript(plan, node, { rdma: opts.rdma ?? false }), node.role === "head" ? (opts.apiKey ?? "") : "");
        const values = parseProbe(r.stdout);
        // ssh itself exits 255 on a connection failure; a probe that ran prints @host.
        if (!values.has("host")) {
          const failure = r.error ? { ...classifySshText(r.error), detail: r.error } : classifySshText(r.stderr || `ssh exit ${r.code}`);
          results.set(node.name, { ok: false, failure });
          progress(`doctor: ${node.name}: cannot connect (${failure.kind})`);
        } else {
          results.set(node.name, { ok: true, values });
          progress(`doctor: ${node.name}: read in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        }
      }),
    );
    const checks = evaluate(plan, results);
    const summary = { pass: checks.filter((c) => c.status === "PASS").length, warn: checks.filter((c) => c.status === "WARN").length, fail: checks.filter((c) => c.status === "FAIL").length };
    return { stack: source, profile: plan.profile.name, checks, summary, exitCode: summary.fail > 0 ? 2 : summary.warn > 0 ? 1 : 0 };
  } finally {
    session.close();
  }
}

const MARK: Record<Status, string> = { PASS: "PASS", WARN: "WARN", FAIL: "FAIL" };

export function renderReport(report: DoctorReport): string {
  const out: string[] = [`dgx-spark-vllm doctor: ${report.stack} (profile ${report.profile})`, ""];
  const nodes = [...new Set(report.checks.map((c) => c.node))];
  for (const n of nodes) {
    out.push(n === "cluster" ? "cluster" : `node ${n}`);
    for (const c of report.checks.filter((x) => x.node === n)) {
      out.push(`  ${MARK[c.status]}  ${c.title}`, `        ${c.evidence}`);
      if (c.fix && c.status !== "PASS") out.push(`        fix: ${c.fix}`);
    }
    out.push("");
  }
  const { pass, warn, fail } = report.summary;
  out.push(`${pass} passed, ${warn} warnings, ${fail} failed`);
  return out.join("\n") + "\n";
}

const USAGE = `usage: dgx-spark-vllm doctor [--stack <name> | --config <file>] [--json] [--identity <key file>] [--rdma] [--api-key-env NAME]

Read-only health check of every node over SSH (BatchMode), before and after deploying.
  --stack NAME        read stacks/Pulumi.NAME.yaml (default: 1m)
  --config FILE       a Pulumi stack file, or a cluster object in YAML or JSON
  --json              print the report as JSON
  --identity FILE     SSH private key file (default: the config's key when readable, else the ssh agent)
  --rdma              also read the engine log for NCCL's transport (NET/IB vs NET/Socket)
  --api-key-env NAME  variable holding the API key for /v1/models (default: $VLLM_API_KEY)
Exit: 0 all PASS, 1 warnings, 2 failures or bad input.
`;

export async function runDoctorCli(argv: readonly string[], io: CliIo, env: NodeJS.ProcessEnv = process.env, ssh: Pick<SshSettings, "sshCommand" | "extraOptions"> = {}): Promise<number> {
  const parsed = parseOptions(
    argv,
    { stack: { type: "string" }, config: { type: "string" }, json: { type: "boolean" }, identity: { type: "string" }, rdma: { type: "boolean" }, "api-key-env": { type: "string" }, help: { type: "boolean", short: "h" } },
    USAGE,
    io,
  );
  if (typeof parsed === "number") return parsed;
  const values = parsed as { stack?: string; config?: string; json?: boolean; identity?: string; rdma?: boolean; "api-key-env"?: string };
  let plan: ClusterPlan;
  let source: string;
  const privateKeys: Record<string, string> = {};
  let apiKey: string | undefined;
  try {
    const read = readClusterInput(values);
    source = read.source;
    const { config, warnings } = loadClusterConfig(read.input, "plan");
    plan = planCluster(config, warnings);
    // The key each node's components would use, when the config holds it readable (a stack file's
    // encrypted secret is not: then --identity or the ssh agent).
    for (const n of config.nodes) {
      const k = n.ssh.privateKey ?? config.ssh.privateKey;
      const v = k instanceof Secret ? k.reveal() : undefined;
      if (typeof v === "string" && v.length > 0) privateKeys[n.name] = v;
    }
    if (values.identity) {
      try {
        readFileSync(values.identity);
      } catch {
        throw new ConfigError([{ path: "--identity", message: `cannot read ${values.identity}` }]);
      }
    }
    apiKey = apiKeyFromEnv(values["api-key-env"], env).key;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) {
      io.err(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const report = await runDoctor(plan, source, {
    ...ssh,
    ...(values.identity ? { identityFile: values.identity } : { privateKeys }),
    ...(apiKey !== undefined ? { apiKey } : {}),
    rdma: values.rdma ?? false,
    progress: (l) => io.err(`${l}\n`),
  });
  io.out(values.json ? JSON.stringify(report, null, 2) + "\n" : renderReport(report));
  return report.exitCode;
}
