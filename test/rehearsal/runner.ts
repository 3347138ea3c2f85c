/**
 * A stand-in for the Pulumi engine and the command provider, for the host rehearsal: it builds
 * SparkNode and RoceLink under the Pulumi mocks, records every remote.Command they register
 * (create, delete, stdin and the resolved connection, exactly as the engine would receive them,
 * plus dependsOn), and runs them over real SSH against the simulated hosts in dependency order:
 * creates forwards (stopping at the first failure, like `pulumi up`), deletes of what was
 * created backwards (like `pulumi destroy`).
 */
import "../components/support";
import * as pulumi from "@pulumi/pulumi";
import { RoceLink } from "../../src/components/roce-link";
import { SparkNode } from "../../src/components/spark-node";
import type { ClusterPlan } from "../../src/plan/types";
import { recordTransformation, settle, unwrap } from "../components/support";
import type { Conn, Run, SimLab } from "./lab";

export interface RemoteStep {
  /** Resource name. */
  readonly name: string;
  /** Node whose connection it uses. */
  readonly node: string;
  /** The step, e.g. `reachable`, `preflight-gpu`, `link-address`, `ping-spark-head-spark-worker-t0`. */
  readonly step: string;
  readonly create: string;
  readonly delete?: string;
  readonly stdin?: string;
  readonly conn: Conn;
  readonly dependsOn: readonly string[];
}

export interface Failure {
  readonly name: string;
  readonly node: string;
  readonly step: string;
  readonly code: number;
  readonly stderr: string;
}

export interface Outcome {
  /** Names run, in order (the failed one included). */
  readonly ran: string[];
  readonly failed?: Failure;
}

/** Register SparkNode per plan node and the RoceLink (names prefixed with `prefix`), and return their commands in a valid run order. */
export async function captureSteps(plan: ClusterPlan, prefix: string, privateKey: string): Promise<RemoteStep[]> {
  const opts = { transformations: [recordTransformation] };
  const nodes = plan.nodes.map(
    (n) =>
      new SparkNode(
        `${prefix}-${n.name}`,
        SparkNode.fromPlan(plan, { node: n.name, privateKey: pulumi.secret(privateKey) }),
        opts,
      ),
  );
  new RoceLink(`${prefix}-link`, RoceLink.fromPlan(plan, { nodes }), opts);
  const rec = await settle();
  const byHost = new Map(plan.nodes.map((n) => [n.ssh.host, n.name]));
  const steps: RemoteStep[] = [];
  for (const r of rec.values()) {
    if (!r.name.startsWith(`${prefix}-`) || r.type !== "command:remote:Command") continue;
    const inputs = unwrap(r.inputs) as { create: string; delete?: string; stdin?: string; connection: Conn };
    const node = byHost.get(inputs.connection.host);
    if (!node) throw new Error(`${r.name}: connection to ${inputs.connection.host} is not a node of the plan`);
    const rest = r.name.slice(prefix.length + 1);
    const step = rest.startsWith(`${node}-`)
      ? rest.slice(node.length + 1)
      : rest.startsWith(`link-${node}-`)
        ? rest.slice(`link-${node}-`.length)
        : rest.replace(/^link-/, "");
    steps.push({
      name: r.name,
      node,
      step,
      create: inputs.create,
      ...(inputs.delete !== undefined ? { delete: inputs.delete } : {}),
      ...(inputs.stdin !== undefined ? { stdin: inputs.stdin } : {}),
      conn: inputs.connection,
      dependsOn: r.dependsOn,
    });
  }
  return order(steps);
}

/** Kahn's algorithm over dependsOn; ties keep registration order. Throws on a cycle or a dangling dependency. */
export function order(steps: readonly RemoteStep[]): RemoteStep[] {
  const names = new Set(steps.map((s) => s.name));
  for (const s of steps)
    for (const d of s.dependsOn)
      if (!names.has(d)) throw new Error(`${s.name} depends on ${d}, which is not a recorded command`);
  const done = new Set<string>();
  const out: RemoteStep[] = [];
  while (out.length < steps.length) {
    const next = steps.find((s) => !done.has(s.name) && s.dependsOn.every((d) => done.has(d)));
    if (!next)
      throw new Error(
        `dependency cycle among ${steps
          .filter((s) => !done.has(s.name))
          .map((s) => s.name)
          .join(", ")}`,
      );
    done.add(next.name);
    out.push(next);
  }
  return out;
}

export interface UpOptions {
  /** Called after each successful create (fault injection between steps). */
  readonly after?: (step: RemoteStep) => void;
}

/** `pulumi up` on fresh state: every create in order, stop at the first failure. */
export async function up(lab: SimLab, steps: readonly RemoteStep[], opts: UpOptions = {}): Promise<Outcome> {
  const ran: string[] = [];
  for (const s of steps) {
    ran.push(s.name);
    const r: Run = await lab.ssh(s.conn, s.create, s.stdin);
    if (r.code !== 0)
      return { ran, failed: { name: s.name, node: s.node, step: s.step, code: r.code, stderr: r.stderr.trim() } };
    opts.after?.(s);
  }
  return { ran };
}

/** `pulumi destroy`: the delete of every created step that has one, in reverse order; stop at the first failure. */
export async function destroy(lab: SimLab, steps: readonly RemoteStep[], created: readonly string[]): Promise<Outcome> {
  const ran: string[] = [];
  for (const s of [...steps].reverse()) {
    if (!created.includes(s.name) || s.delete === undefined) continue;
    ran.push(s.name);
    const r = await lab.ssh(s.conn, s.delete);
    if (r.code !== 0)
      return { ran, failed: { name: s.name, node: s.node, step: s.step, code: r.code, stderr: r.stderr.trim() } };
  }
  return { ran };
}

/** A failure as one line a person would read. */
export function describe(f: Failure | undefined): string {
  return f ? `${f.name} (node ${f.node}, step ${f.step}) exit ${f.code}: ${f.stderr}` : "no failure";
}
