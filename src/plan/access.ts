/**
 * How a script running on the head reaches each node: the ONE seam between the scripts that manage
 * the ranks (the watchdog, the readiness gate's sidecar cleanup) and the hosts. Production: the
 * head runs commands itself, every other node is reached over SSH (RECIPE.md: passwordless SSH
 * head -> worker, as the image transfer uses). A rehearsal swaps only this block (e.g. every node
 * is the local Docker engine); everything else in the scripts is exactly as rendered.
 */
import { shellJoin, shq } from "../shell/quote";
import { sshOptions } from "../ssh/options";
import type { ClusterPlan, NodePlan } from "./types";

/** Per node name: the argv prefix that runs one shell command string (appended as the last word) on that node. */
export type NodeAccess = Readonly<Record<string, readonly string[]>>;

export const ACCESS_BEGIN = "# --- node access (the one seam): on_node NODE COMMAND runs the shell COMMAND on NODE ---";
export const ACCESS_END = "# --- end of node access ---";

/**
 * `ssh` options for one node reaching another (head -> worker: the image copy, the readiness
 * gate's cleanup, the watchdog, doctor's check), from the one builder (src/ssh/options.ts): never
 * prompt, fail fast when a host is down (exit 255), write no known_hosts entry, check a pinned host
 * key (`nodes[].ssh.hostKey`) strictly, else take any key, as the command provider does.
 */
export function peerSshOptions(target: Pick<NodePlan, "ssh">): string[] {
  return sshOptions({ port: target.ssh.port, ...(target.ssh.hostKey ? { hostKey: target.ssh.hostKey } : {}) });
}

/** Production access from `from` (the head): itself through bash, every other node over SSH to its management host. */
export function sshAccess(plan: ClusterPlan, from: string = plan.cluster.head): NodeAccess {
  return Object.fromEntries(
    plan.nodes.map((n) => [
      n.name,
      n.name === from ? ["bash", "-c"] : ["ssh", ...peerSshOptions(n), `${n.ssh.user}@${n.ssh.host}`],
    ]),
  );
}

/** Every node is this machine (a rehearsal with one Docker engine standing in for all hosts). */
export function localAccess(plan: ClusterPlan): NodeAccess {
  return Object.fromEntries(plan.nodes.map((n) => [n.name, ["bash", "-c"]]));
}

/** The bash function `on_node NODE COMMAND`, between the ACCESS markers. Unknown node: exit 2. */
export function accessFunction(plan: ClusterPlan, access: NodeAccess): string {
  const cases = plan.nodes.map((n) => {
    const prefix = access[n.name];
    if (!prefix || prefix.length === 0) throw new Error(`node access: no access command for node ${n.name}`);
    return `    ${shq(n.name)}) ${shellJoin(prefix)} "$2" ;;`;
  });
  return [
    ACCESS_BEGIN,
    "on_node() {",
    '  case "$1" in',
    ...cases,
    '    *) echo "dgx-spark-vllm: no access to unknown node $1" >&2; return 2 ;;',
    "  esac",
    "}",
    ACCESS_END,
  ].join("\n");
}

/** Replace the access block of a rendered script (for rehearsals); throws if the script has none. */
export function withAccess(scriptText: string, plan: ClusterPlan, access: NodeAccess): string {
  const a = scriptText.indexOf(ACCESS_BEGIN);
  const b = scriptText.indexOf(ACCESS_END);
  if (a < 0 || b < a) throw new Error("script has no node access block");
  return scriptText.slice(0, a) + accessFunction(plan, access) + scriptText.slice(b + ACCESS_END.length);
}
