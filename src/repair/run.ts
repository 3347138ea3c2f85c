/**
 * `dgx-spark-vllm repair`: doctor's probe and checks (src/doctor/), then, per node, the plan's own
 * host and link steps that fix the failing checks (src/repair/table.ts), run over SSH exactly as
 * the components hand them to the command provider (the step's `create`, verbatim, no stdin),
 * then doctor again. A node whose engine container is up is refused unless forced: re-applying
 * the link under a live NCCL job hangs it. The command line is src/cli/repair.ts.
 */
import { type Check, runDoctor, type DoctorOptions, type DoctorReport } from "../doctor";
import { sh } from "../shell/sh";
import type { ClusterPlan, NodePlan } from "../plan/types";
import { SshSession } from "../ssh/session";
import { planRepair, type RepairPlan, type StepList } from "./table";

export interface RepairOptions extends DoctorOptions {
  /** Only these nodes (default: every node of the plan). */
  readonly nodes?: readonly string[];
  /** List what would run; run nothing. */
  readonly dryRun?: boolean;
  /** Repair a node even while its engine container is up. */
  readonly forceServing?: boolean;
  /** Seconds per step. @default 300 */
  readonly stepTimeoutS?: number;
}

export interface StepOutcome {
  readonly list: StepList;
  readonly id: string;
  readonly description: string;
  /** The failing checks it answers (empty: a prerequisite of one that does). */
  readonly checks: readonly string[];
  readonly result: "ok" | "failed" | "not run";
  readonly seconds?: number;
  /** The step's last lines of stderr when it failed. */
  readonly error?: string;
}

export interface NodeOutcome {
  readonly node: string;
  /** The engine container's state (`docker ps`), "" when it does not exist, "unknown" when docker did not answer. */
  readonly engine: string;
  readonly outcome: "repaired" | "failed" | "refused" | "planned";
  readonly reason?: string;
  readonly steps: readonly StepOutcome[];
}

export interface CheckBrief {
  readonly node: string;
  readonly id: string;
  readonly status: Check["status"];
  readonly evidence: string;
  readonly fix?: string;
}

export interface RepairReport {
  readonly stack: string;
  readonly profile: string;
  readonly dryRun: boolean;
  readonly nodes: readonly NodeOutcome[];
  /** Failing checks no step repairs, with doctor's fix text. */
  readonly notRepairable: readonly CheckBrief[];
  /** Failing checks that follow from the repaired ones (DF pings): re-checked after. */
  readonly followers: readonly CheckBrief[];
  /** Doctor's failing checks (of the nodes asked for, and the cluster's) before and after. */
  readonly before: readonly CheckBrief[];
  readonly after?: readonly CheckBrief[];
  /** 0 nothing to do or all repaired, 1 something left, 2 a node refused. */
  readonly exitCode: 0 | 1 | 2;
}

/** An engine container in one of these states holds ranks: the link must not be touched under it. */
const SERVING = new Set(["running", "restarting", "paused"]);

const brief = (c: Check): CheckBrief => ({
  node: c.node,
  id: c.id,
  status: c.status,
  evidence: c.evidence,
  ...(c.fix ? { fix: c.fix } : {}),
});

function failingOf(report: DoctorReport, asked: ReadonlySet<string>): CheckBrief[] {
  return report.checks.filter((c) => c.status === "FAIL" && (c.node === "cluster" || asked.has(c.node))).map(brief);
}

/** The engine container's state on a node, read as doctor's probe reads it. */
export function engineStateScript(node: NodePlan): string {
  const filter = `name=^/${node.container.name}$`;
  return (
    sh`if s=$(timeout -k 1 10 docker ps -a --filter ${filter} --format '{{.State}}' 2>/dev/null); ` +
    `then printf '%s\\n@docker 0\\n' "$(printf '%s\\n' "$s" | head -n1)"; else echo '@docker 1'; fi`
  );
}

export async function runRepair(plan: ClusterPlan, source: string, opts: RepairOptions = {}): Promise<RepairReport> {
  const progress = opts.progress ?? (() => undefined);
  const asked = new Set(opts.nodes?.length ? opts.nodes : plan.nodes.map((n) => n.name));
  const unknown = [...asked].filter((n) => !plan.nodes.some((p) => p.name === n));
  if (unknown.length) throw new Error(`repair: no node ${unknown.join(", ")} in the plan`);
  const doctorOpts: DoctorOptions = { ...opts };
  const before = await runDoctor(plan, source, doctorOpts);
  const rp: RepairPlan = planRepair(plan, before.checks, [...asked]);
  const session = new SshSession(opts);
  const nodes: NodeOutcome[] = [];
  try {
    for (const nr of rp.nodes) {
      nodes.push(await repairNode(plan, nr, session, opts));
    }
  } finally {
    session.close();
  }
  const ran = nodes.some((n) => n.steps.some((s) => s.result !== "not run"));
  const after = ran ? await runDoctor(plan, source, doctorOpts) : undefined;
  const left = opts.dryRun ? rp.notRepairable.length > 0 : failingOf(after ?? before, asked).length > 0;
  const refused = nodes.some((n) => n.outcome === "refused");
  return {
    stack: source,
    profile: plan.profile.name,
    dryRun: opts.dryRun ?? false,
    nodes,
    notRepairable: rp.notRepairable.map(brief),
    followers: rp.followers.map(brief),
    before: failingOf(before, asked),
    ...(after ? { after: failingOf(after, asked) } : {}),
    exitCode: refused ? 2 : left ? 1 : 0,
  };
}

/**
 * One node: refused while its engine serves (unless forced), only listed with --dry-run, else
 * the plan's steps in order until one fails (the rest are reported as not run).
 */
async function repairNode(
  plan: ClusterPlan,
  nr: RepairPlan["nodes"][number],
  session: SshSession,
  opts: RepairOptions,
): Promise<NodeOutcome> {
  const progress = opts.progress ?? (() => undefined);
  const node = plan.nodes.find((n) => n.name === nr.node) as NodePlan;
  const planned = nr.steps.map((s) => ({
    list: s.list,
    id: s.step.id,
    description: s.step.description,
    checks: s.checks,
    result: "not run" as const,
  }));
  const ps = await session.run(node, engineStateScript(node));
  const answered = /^@docker 0$/m.test(ps.stdout);
  const lines = ps.stdout.split("\n");
  const engine = answered ? (lines[lines.indexOf("@docker 0") - 1] ?? "").trim() : "unknown";
  if (ps.code !== 0 && !ps.stdout.includes("@docker")) {
    const reason = `cannot reach ${node.name} to check its engine: ${(ps.error ?? ps.stderr).trim()}`;
    return { node: nr.node, engine, outcome: "failed", reason, steps: planned };
  }
  if ((SERVING.has(engine) || engine === "unknown") && !opts.forceServing) {
    // docker not answering is no proof the engine is down (live-restore keeps containers running).
    const state = engine === "unknown" ? "in an unknown state (docker did not answer)" : engine;
    const reason =
      `${node.container.name} is ${state} on ${node.name}: re-applying the link under a live NCCL job hangs it; ` +
      "stop the service first, or pass --force-serving";
    progress(`repair: ${node.name}: refused (${node.container.name} ${engine})`);
    return { node: nr.node, engine, outcome: "refused", reason, steps: planned };
  }
  if (opts.dryRun) {
    return { node: nr.node, engine, outcome: "planned", steps: planned };
  }
  const steps: StepOutcome[] = [];
  let failed = false;
  for (const s of planned) {
    if (failed) {
      steps.push(s);
      continue;
    }
    progress(`repair: ${node.name}: ${s.list === "linkSteps" ? "link" : "host"} step ${s.id} ...`);
    const t0 = Date.now();
    const step = nr.steps.find((x) => x.step.id === s.id && x.list === s.list)?.step;
    const r = await session.exec(session.connectionOf(node), step?.create ?? "false", "", {
      timeoutMs: (opts.stepTimeoutS ?? 300) * 1000,
    });
    const seconds = Math.round((Date.now() - t0) / 100) / 10;
    if (r.code === 0) {
      steps.push({ ...s, result: "ok", seconds });
      continue;
    }
    failed = true;
    const error = (r.error ?? (r.stderr.trim() || `exit ${r.code}`)).split("\n").slice(-5).join("\n");
    progress(`repair: ${node.name}: ${s.id} failed: ${error}`);
    steps.push({ ...s, result: "failed", seconds, error });
  }
  return { node: nr.node, engine, outcome: failed ? "failed" : "repaired", steps };
}

export function renderRepairReport(r: RepairReport): string {
  const out: string[] = [
    `dgx-spark-vllm repair: ${r.stack} (profile ${r.profile})${r.dryRun ? ": dry run, nothing is changed" : ""}`,
    "",
  ];
  if (r.before.length === 0) out.push("doctor found nothing failing: nothing to do", "");
  for (const n of r.nodes) {
    const engine = n.engine ? `engine ${n.engine}` : "no engine container";
    out.push(`node ${n.node} (${engine})`);
    for (const c of r.before.filter((x) => x.node === n.node && n.steps.some((s) => s.checks.includes(x.id))))
      out.push(`  FAIL  ${c.id}: ${c.evidence}`);
    if (n.reason) out.push(`  ${n.outcome === "refused" ? "refused" : "failed"}: ${n.reason}`);
    const verb = r.dryRun || n.outcome === "refused" ? "would run" : "ran";
    out.push(`  ${verb}:`);
    for (const s of n.steps) {
      const why = s.checks.length ? `for ${s.checks.join(", ")}` : "prerequisite";
      const mark = s.result === "ok" ? "ok" : s.result === "failed" ? "FAILED" : "-";
      const time = s.seconds !== undefined ? ` ${s.seconds} s` : "";
      out.push(`    ${mark.padEnd(6)} ${s.list === "linkSteps" ? "link" : "host"} step ${s.id} (${why})${time}`);
      out.push(`           ${s.description}`);
      if (s.error) out.push(...s.error.split("\n").map((l) => `           | ${l}`));
    }
    out.push("");
  }
  if (r.followers.length) {
    out.push("re-checked after the link repair");
    for (const c of r.followers) out.push(`  FAIL  ${c.node}: ${c.id}: ${c.evidence}`);
    out.push("");
  }
  if (r.notRepairable.length) {
    out.push("not repairable here (doctor's fix)");
    for (const c of r.notRepairable)
      out.push(`  FAIL  ${c.node}: ${c.id}: ${c.evidence}`, `        fix: ${c.fix ?? ""}`);
    out.push("");
  }
  if (r.after) {
    const still = new Set(r.after.map((c) => `${c.node}:${c.id}`));
    const fixed = r.before.filter((c) => !still.has(`${c.node}:${c.id}`));
    out.push("doctor after the repair");
    for (const c of fixed) out.push(`  FAIL -> PASS  ${c.node}: ${c.id}`);
    for (const c of r.after) out.push(`  FAIL          ${c.node}: ${c.id}: ${c.evidence}`);
    out.push(`${fixed.length} repaired, ${r.after.length} still failing`);
  } else if (r.dryRun) {
    const steps = r.nodes.filter((n) => n.outcome === "planned").reduce((a, n) => a + n.steps.length, 0);
    out.push(`dry run: ${steps} steps would run; ${r.notRepairable.length} failing checks are not repairable here`);
  } else {
    out.push(`${r.before.length} failing, nothing run`);
  }
  return `${out.join("\n")}\n`;
}
