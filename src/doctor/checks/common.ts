/**
 * What every doctor check shares: the check's shape, how far the probe got with a step, the verdict
 * for a check whose step did not answer, and the fixes several checks name.
 */
import { LINK_UNIT } from "../../plan/link";
import type { ClusterPlan, NodePlan } from "../../plan/types";

export type Status = "PASS" | "WARN" | "FAIL";

export interface Check {
  readonly id: string;
  /** Node name, or `cluster` for checks across nodes. */
  readonly node: string;
  readonly status: Status;
  readonly title: string;
  /** The value(s) read. */
  readonly evidence: string;
  /** What repairs it (always set for FAIL). */
  readonly fix?: string;
  /**
   * Set when the FAIL is no verdict: the step that reads this check's values timed out ("not
   * answering") or was never reached ("not checked"). `repair` acts only on real verdicts.
   */
  readonly unanswered?: "not answering" | "not checked";
}

/**
 * An unchanged `pulumi up` re-runs no host or link step (their inputs did not change): host drift
 * is repaired by `repair`, which re-runs the plan's own steps for the failing checks.
 */
/** The repair command named in fixes; `evaluate` replaces it with the one for the stack in use. */
export const REPAIR_CMD = "dgx-spark-vllm repair --stack <stack>";
export const LINK_FIX = `sudo systemctl restart ${LINK_UNIT}.service (re-applies MTU and addresses, re-bounces a missing GID), or ${REPAIR_CMD}`;
/** PSI "some avg10" above this is memory pressure worth a warning (percent of time stalled). */
export const PSI_WARN_AVG10 = 5;
/** Link speed of a ConnectX-7 port on a Spark, Mb/s. */
export const EXPECTED_SPEED_MBPS = 200000;

/** How far a node's probe got with one step (src/doctor/probe.ts). */
export type StepState =
  | { readonly state: "done" }
  | { readonly state: "timeout"; readonly command: string; readonly seconds: string }
  | { readonly state: "missing" };

/** A step's state from the probe's markers: `@timeout.<step>`, `@step.<step> done`, `@probe.complete`. */
export function stepState(v: ReadonlyMap<string, string>, step: string): StepState {
  const t = v.get(`timeout.${step}`);
  if (t !== undefined) {
    const [command = "a command", seconds = "?"] = t.split(" ");
    return { state: "timeout", command, seconds };
  }
  return v.has(`step.${step}`) || v.has("probe.complete") ? { state: "done" } : { state: "missing" };
}

/** The probe steps whose values a node check reads. */
export function stepsOf(id: string): string[] {
  const port = /^(?:netdev|address|mtu|gid|ipv6)\.(\d+)$/.exec(id);
  if (port) return [`port.${port[1]}`];
  const ping = /^df-ping\.(\d+)\.(.+)$/.exec(id);
  if (ping) return [`ping.${ping[2]}.${ping[1]}`];
  const peer = /^peer-ssh\.(.+)$/.exec(id);
  if (peer) return [`peerssh.${peer[1]}`];
  const fixed: Record<string, string[]> = {
    identity: ["identity"],
    kernel: ["identity"],
    sudo: ["sudo"],
    docker: ["docker"],
    persist: ["persist"],
    "min-free-kbytes": ["hardening"],
    swap: ["hardening"],
    disk: ["disk", "models"],
    weights: ["models"],
    memory: ["memory"],
    port: ["listen"],
    health: ["serving"],
    "max-model-len": ["serving"],
    rdma: ["serving"],
    exposure: ["exposure"],
    "router-unit": ["router"],
    "router-ready": ["router"],
    "router-workers": ["router"],
    "router-metrics": ["router"],
  };
  return fixed[id] ?? [];
}

/** What to do about a command that did not answer on a node. */
function hangFix(command: string, node: string): string {
  if (command === "docker")
    return `the docker daemon on ${node} is not answering: sudo systemctl restart docker (journalctl -u docker says why it hung), then run doctor again`;
  if (command === "nvidia-smi")
    return `the GPU driver on ${node} is not answering (nvidia-smi hangs): check dmesg; a reboot clears a wedged driver`;
  return `${command} hangs on ${node}: find what it waits for (a hung mount, daemon or driver), then run doctor again`;
}

/** A check whose step did not give an answer: FAIL, never judged from the missing values. */
export function unanswered(c: Check, st: Exclude<StepState, { state: "done" }>): Check {
  if (st.state === "timeout")
    return {
      ...c,
      status: "FAIL",
      evidence: `not answering: ${st.command} did not answer within ${st.seconds} s`,
      fix: hangFix(st.command, c.node),
      unanswered: "not answering",
    };
  return {
    ...c,
    status: "FAIL",
    evidence: "not checked: the probe ended before this step (cut off by the session timeout or a lost connection)",
    fix: "run doctor again; if this recurs, a command of an earlier step hangs on the node (doctor --json shows which)",
    unanswered: "not checked",
  };
}

export function gib(kb: number): string {
  return `${(kb / 1024 / 1024).toFixed(1)} GiB`;
}

/**
 * What one node's checks read: the plan, the node, its probe values, and `add`, through which every
 * check goes (one whose probe step did not answer is reported as such, see `unanswered`).
 */
export interface NodeCtx {
  readonly plan: ClusterPlan;
  readonly node: NodePlan;
  readonly v: ReadonlyMap<string, string>;
  readonly add: (c: Check) => void;
  /** A probe value, "" when absent. */
  readonly get: (k: string) => string;
}
