/**
 * `dgx-spark-vllm doctor`: a read-only health check of every node over SSH, before and after
 * deploying. One probe per node (in parallel), then the checks (src/doctor/evaluate.ts), printed
 * as a report or as JSON. Exit code: 0 all PASS, 1 warnings, 2 failures (or bad usage/config).
 * The command line is src/cli/doctor.ts.
 */
import type { ClusterPlan } from "../plan/types";
import { SshSession, type SshSettings } from "../ssh/session";
import { classifySshText, evaluate, type Check, type NodeResult, type Status } from "./evaluate";
import { gatherReach } from "./checks/exposure";
import { parseProbe, probeScript } from "./probe";

export interface DoctorOptions extends SshSettings {
  /** API key for /v1/models on the head and the router's routes on its node (never printed). */
  readonly apiKey?: string;
  /** Also read the engine log for NCCL's transport. */
  readonly rdma?: boolean;
  /** Progress lines (stderr in the CLI). */
  readonly progress?: (line: string) => void;
  /** The repair command the fixes name. @default `dgx-spark-vllm repair --stack <stack>` */
  readonly repairCommand?: string;
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
        const r = await session.run(
          node,
          probeScript(plan, node, { rdma: opts.rdma ?? false }),
          node.role === "head" || node.name === plan.router?.node ? (opts.apiKey ?? "") : "",
        );
        const values = parseProbe(r.stdout);
        // ssh itself exits 255 on a connection failure; a probe that ran prints @host.
        if (!values.has("host")) {
          const failure = r.error
            ? { ...classifySshText(r.error), detail: r.error }
            : classifySshText(r.stderr || `ssh exit ${r.code}`);
          results.set(node.name, { ok: false, failure });
          progress(`doctor: ${node.name}: cannot connect (${failure.kind})`);
        } else {
          results.set(node.name, { ok: true, values });
          const hung = [...values].filter(([k]) => k.startsWith("timeout.")).map(([k, x]) => `${k.slice(8)} (${x} s)`);
          const notes = [
            ...(hung.length ? [`not answering: ${hung.join(", ")}`] : []),
            ...(values.has("probe.complete") ? [] : ["the probe was cut off"]),
          ];
          const took = ((Date.now() - t0) / 1000).toFixed(1);
          progress(`doctor: ${node.name}: read in ${took} s${notes.length ? `; ${notes.join("; ")}` : ""}`);
        }
      }),
    );
    // Each node's probe tried its peers' closed ports: those findings belong to the peer's check.
    gatherReach(new Map([...results].flatMap(([n, r]) => (r.ok ? [[n, r.values as Map<string, string>]] : []))));
    const checks = evaluate(plan, results, opts.repairCommand);
    const summary = {
      pass: checks.filter((c) => c.status === "PASS").length,
      warn: checks.filter((c) => c.status === "WARN").length,
      fail: checks.filter((c) => c.status === "FAIL").length,
    };
    return {
      stack: source,
      profile: plan.profile.name,
      checks,
      summary,
      exitCode: summary.fail > 0 ? 2 : summary.warn > 0 ? 1 : 0,
    };
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
  return `${out.join("\n")}\n`;
}
