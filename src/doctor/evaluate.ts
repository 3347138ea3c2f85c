/**
 * `doctor`'s judgement, pure: what each node's probe read (src/doctor/probe.ts), or why it could
 * not connect, becomes a list of checks, each PASS / WARN / FAIL with the node, the evidence (the
 * value read) and, for a FAIL (and a WARN with something to do), the fix. Thresholds come from the
 * plan (RECIPE.md): GB10 12.1, aarch64, the link MTU, 200 Gb/s ports, min_free_kbytes, swap off,
 * the memory the engine needs to start, the serving port, the profile's max_model_len.
 *
 * A check is judged only on what its probe step read: a step that timed out (a hung docker, a
 * wedged driver, a hung mount) makes its checks FAIL as "not answering", with a fix for that, and
 * a step the probe never reached (cut off) makes them FAIL as "not checked"; neither is ever
 * judged from the values that are missing.
 *
 * The checks themselves live in checks/, by subject: identity and access, data plane, memory,
 * serving, and the checks across nodes. This file runs them in order.
 */
import type { ClusterPlan, NodePlan } from "../plan/types";
import { classifySshText, type SshFailure } from "../ssh/failure";
import { clusterChecks } from "./checks/cluster";
import { type Check, type NodeCtx, REPAIR_CMD, type StepState, stepState, stepsOf, unanswered } from "./checks/common";
import { dataPlaneChecks, persistCheck } from "./checks/data-plane";
import { dockerCheck, identityCheck, kernelCheck, sudoCheck } from "./checks/identity";
import { diskCheck, memoryCheck, minFreeKbytesCheck, swapCheck } from "./checks/memory";
import { exposureCheck } from "./checks/exposure";
import { routerChecks } from "./checks/router";
import { headChecks, weightsCheck } from "./checks/serving";

export { classifySshText };
export {
  type Check,
  EXPECTED_SPEED_MBPS,
  PSI_WARN_AVG10,
  REPAIR_CMD,
  type Status,
  type StepState,
  stepState,
} from "./checks/common";
export { ipv4MappedGid } from "./checks/data-plane";

/** What a node's probe gave: its values, or the classified SSH failure. */
export type NodeResult =
  | { readonly ok: true; readonly values: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly failure: SshFailure };

/** Every node's checks, in the order the report lists them. */
const NODE_CHECKS: readonly ((ctx: NodeCtx) => void)[] = [
  identityCheck,
  kernelCheck,
  sudoCheck,
  dockerCheck,
  dataPlaneChecks,
  persistCheck,
  minFreeKbytesCheck,
  swapCheck,
  weightsCheck,
  diskCheck,
  memoryCheck,
  headChecks,
  exposureCheck,
  routerChecks,
];

/**
 * The checks for a probed cluster. `repairCommand` is the repair invocation the fixes name (the
 * CLI passes the one for the stack or file doctor read, so it can be pasted as is).
 */
export function evaluate(
  plan: ClusterPlan,
  results: ReadonlyMap<string, NodeResult>,
  repairCommand: string = REPAIR_CMD,
): Check[] {
  const checks = evaluateChecks(plan, results);
  if (repairCommand === REPAIR_CMD) return checks;
  return checks.map((c) => (c.fix ? { ...c, fix: c.fix.replaceAll(REPAIR_CMD, repairCommand) } : c));
}

function evaluateChecks(plan: ClusterPlan, results: ReadonlyMap<string, NodeResult>): Check[] {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const values = new Map<string, ReadonlyMap<string, string>>();

  for (const node of plan.nodes) {
    const r = results.get(node.name);
    const target = `${node.ssh.user}@${node.ssh.host}:${node.ssh.port}`;
    if (!r?.ok) {
      const f = r && !r.ok ? r.failure : { kind: "other" as const, detail: "not checked", fix: "" };
      add({
        id: "ssh",
        node: node.name,
        status: "FAIL",
        title: "SSH (BatchMode) to the management address",
        evidence: `${target}: ${f.kind}: ${f.detail}`,
        fix: f.fix || "check the host is up and reachable",
      });
      continue;
    }
    const v = r.values;
    values.set(node.name, v);
    add({
      id: "ssh",
      node: node.name,
      status: "PASS",
      title: "SSH (BatchMode) to the management address",
      evidence: `${target} (host ${v.get("host") ?? ""})`,
    });
    nodeChecks(plan, node, v, add);
  }
  clusterChecks(plan, values, add);
  return checks;
}

/** One answering node's checks. */
function nodeChecks(
  plan: ClusterPlan,
  node: NodePlan,
  v: ReadonlyMap<string, string>,
  addCheck: (c: Check) => void,
): void {
  // Every check goes through here: one whose step did not answer is reported as such.
  const add = (c: Check) => {
    const st = stepsOf(c.id)
      .map((s) => stepState(v, s))
      .find((x): x is Exclude<StepState, { state: "done" }> => x.state !== "done");
    addCheck(st ? unanswered(c, st) : c);
  };
  const ctx: NodeCtx = { plan, node, v, add, get: (k) => v.get(k) ?? "" };
  for (const check of NODE_CHECKS) check(ctx);
}
