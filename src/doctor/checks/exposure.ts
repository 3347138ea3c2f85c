/**
 * `exposure` (every node): the node's listening sockets against the plan's port table
 * (src/plan/exposure.ts, docs/exposure.md). A socket of ours bound wider than the table says, or a
 * port the table keeps off the management network that answers doctor there, fails; sockets the
 * deployment did not open on a non-loopback address are listed as a warning. Read-only.
 */
import { checkListeners, closedToManagement, describeListener, parseSs } from "../listeners";
import type { NodePlan, PortEntry } from "../../plan/types";
import type { NodeCtx } from "./common";

/** The probe value run.ts sets: the ports doctor tried from its own machine, and those that answered. */
export const REACH_TRIED = "reach.tried";
export const REACH_OPEN = "reach.open";

const ports = (s: string) => s.split(" ").filter(Boolean).map(Number);

/** The ports of `node` that doctor tries from where it runs (closed to the management network). */
export function portsToTry(rows: readonly PortEntry[], node: NodePlan, listeners: string): number[] {
  return closedToManagement(
    rows.filter((r) => r.node === node.name),
    parseSs(listeners),
    node.ssh.host,
  );
}

export function exposureCheck({ plan, node, v, get, add }: NodeCtx): void {
  if (!v.has("listeners")) return;
  const rows = plan.exposure.filter((r) => r.node === node.name);
  const sockets = parseSs(get("listeners"));
  const f = checkListeners(rows, sockets);
  const open = ports(get(REACH_OPEN));
  const tried = ports(get(REACH_TRIED));
  const others = f.unlisted.filter((s) => !/^(127\.|::1$|::ffff:127\.)/.test(s.address));
  const problems = [
    ...f.wider.map((w) => `${describeListener(w.socket)} is wider than the plan's ${w.row.bind} (${w.row.process})`),
    ...open.map((p) => `port ${p} answers the management network at ${node.ssh.host}, which the plan keeps off it`),
  ];
  const base = {
    id: "exposure",
    node: node.name,
    title: "listening ports as the plan's table (docs/exposure.md)",
  };
  if (problems.length > 0) {
    add({
      ...base,
      status: "FAIL",
      evidence: problems.join("; "),
      fix: "pulumi up (it binds them as the plan says); if a wider bind is meant, set it in the config (e.g. observability.prometheus.listen: all)",
    });
    return;
  }
  const ok = `${f.matched.length} socket(s) as planned${tried.length ? `; ${tried.join(", ")} refused from here` : ""}`;
  if (others.length > 0) {
    add({
      ...base,
      status: "WARN",
      evidence: `${ok}; not opened by this deployment: ${others.map(describeListener).join(", ")}`,
      fix: "check that each of these should be reachable from the network (sudo ss -ltnup), or stop it",
    });
    return;
  }
  add({ ...base, status: "PASS", evidence: ok });
}
