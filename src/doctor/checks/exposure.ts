/**
 * `exposure` (every node): the node's listening sockets against the plan's port table
 * (src/plan/exposure.ts, docs/exposure.md). A socket of ours bound wider than the table says, or a
 * port the table keeps off the management network that answers a peer Spark there (each node's probe
 * tries its peers' closed ports at their management hosts), fails; sockets the deployment did not open
 * on a non-loopback address are listed as a warning. Read-only.
 */
import { checkListeners, describeListener, isLoopback, keptOffManagement, parseSs } from "../listeners";
import type { ClusterPlan, NodePlan } from "../../plan/types";
import type { NodeCtx } from "./common";

/** The values run.ts gathers for a node from its peers' probes: the ports tried, and those that answered. */
export const REACH_TRIED = "reach.tried";
export const REACH_OPEN = "reach.open";

const ports = (s: string) => s.split(" ").filter(Boolean).map(Number);

/**
 * The numbered ports of `node` that the table keeps off the management network (bound to loopback,
 * or to an address other than the management host): its peers try each at its management host.
 */
export function closedPortsOf(plan: ClusterPlan, node: NodePlan): number[] {
  const closed = plan.exposure.flatMap((r) =>
    r.node === node.name && typeof r.port === "number" && keptOffManagement(r, node.ssh.host) ? [r.port] : [],
  );
  return [...new Set(closed)].sort((a, b) => a - b);
}

/**
 * For each node, what its peers' probes found at its management host (`reach.<node>` values:
 * `<ports tried>|<ports that answered>`), as REACH_TRIED / REACH_OPEN with the peer's name.
 */
export function gatherReach(values: ReadonlyMap<string, Map<string, string>>): void {
  for (const [name, v] of values) {
    const tried: string[] = [];
    const open: string[] = [];
    for (const [peer, pv] of values) {
      const r = pv.get(`reach.${name}`);
      if (peer === name || r === undefined) continue;
      const [t = "", o = ""] = r.split("|");
      tried.push(...ports(t).map((p) => `${p}`));
      open.push(...ports(o).map((p) => `${p}@${peer}`));
    }
    if (tried.length) v.set(REACH_TRIED, [...new Set(tried)].join(" "));
    v.set(REACH_OPEN, open.join(" "));
  }
}

export function exposureCheck({ plan, node, v, get, add }: NodeCtx): void {
  if (!v.has("listeners")) return;
  const rows = plan.exposure.filter((r) => r.node === node.name);
  const sockets = parseSs(get("listeners"));
  const f = checkListeners(rows, sockets);
  const open = get(REACH_OPEN).split(" ").filter(Boolean);
  const tried = ports(get(REACH_TRIED));
  const others = f.unlisted.filter((s) => !isLoopback(s.address));
  const problems = [
    ...f.wider.map((w) => `${describeListener(w.socket)} is wider than the plan's ${w.row.bind} (${w.row.process})`),
    ...open.map((x) => {
      const [p, from] = x.split("@");
      return `port ${p} at ${node.ssh.host} answers ${from} on the management network, which the plan keeps off it`;
    }),
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
  const ok = `${f.matched.length} socket(s) as planned${tried.length ? `; ${tried.join(", ")} refused to the peers` : ""}`;
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
