/**
 * `repair`'s judgement, pure: which of the plan's own host and link steps fix a failing doctor
 * check. An unchanged `pulumi up` runs none of them again (the commands' inputs did not change),
 * so drift on a host (MTU, addresses, GID, netplan and boot unit, swap, min_free_kbytes) is
 * repaired by re-running the very steps the components run, which are idempotent. Checks with no
 * step here (GPU, docker, the image, ...) are left to doctor's fix text.
 */
import type { Check } from "../doctor/evaluate";
import type { ClusterPlan, HostStep } from "../plan/types";

/** Which of a node's step lists a step comes from: SparkNode's host steps or RoceLink's link steps. */
export type StepList = "hostSteps" | "linkSteps";

export interface RepairRule {
  /** Doctor check ids this rule answers. */
  readonly check: RegExp;
  readonly list: StepList;
  /** Step ids whose `create` repairs it (their `after` prerequisites run first). */
  readonly steps: readonly string[];
  /** A failure of this check the steps cannot repair (it needs a config change or a person). */
  readonly unless?: (c: Check) => boolean;
  /** What the steps do about it, for people. */
  readonly why: string;
}

/** Failing check -> plan steps. The first matching rule wins. */
export const REPAIR_TABLE: readonly RepairRule[] = [
  {
    check: /^mtu\.\d+$/,
    list: "linkSteps",
    steps: ["link-address", "gid-check"],
    why: "link-address sets the MTU (then the GID check)",
  },
  {
    check: /^address\.\d+$/,
    list: "linkSteps",
    steps: ["link-address", "gid-check"],
    // The address held by another interface, or a default route over the data plane: a person decides.
    unless: (c) => / also on |default route/.test(c.evidence),
    why: "link-address adds the address and its connected route (then the GID check)",
  },
  {
    check: /^gid\.\d+$/,
    list: "linkSteps",
    steps: ["gid-check"],
    // A pinned index whose RoCEv2 entry moved: the config must change (link.gidPolicy).
    unless: (c) => /is at index \d+$/.test(c.evidence),
    why: "gid-check re-bounces an address whose RoCEv2 GID is missing",
  },
  {
    check: /^ipv6\.\d+$/,
    list: "linkSteps",
    steps: ["ipv6-off", "gid-check"],
    why: "ipv6-off turns IPv6 off on the port and rewrites its sysctl.d file (then the GID check)",
  },
  {
    check: /^persist$/,
    list: "linkSteps",
    steps: ["link-address", "link-boot"],
    why: "link-address rewrites the netplan file, link-boot the boot unit (enabled)",
  },
  {
    check: /^min-free-kbytes$/,
    list: "hostSteps",
    steps: ["min-free-kbytes"],
    why: "min-free-kbytes sets vm.min_free_kbytes and its sysctl.d file",
  },
  {
    check: /^swap$/,
    list: "hostSteps",
    steps: ["swap-off"],
    why: "swap-off runs swapoff -a and keeps fstab's swap off",
  },
];

/** A DF ping follows from the MTU and addresses of both ends: re-checked after their repair. */
const DF_PING = /^df-ping\.\d+\.(.+)$/;

export function ruleFor(c: Check): RepairRule | undefined {
  const r = REPAIR_TABLE.find((x) => x.check.test(c.id));
  return r && !r.unless?.(c) ? r : undefined;
}

/** One step to run on a node, with the checks it answers (empty for a prerequisite). */
export interface PlannedStep {
  readonly list: StepList;
  readonly step: HostStep;
  readonly checks: readonly string[];
}

export interface NodeRepair {
  readonly node: string;
  /** The failing checks of this node the steps repair. */
  readonly checks: readonly Check[];
  /** In run order: host steps, then link steps, each in plan order with its prerequisites. */
  readonly steps: readonly PlannedStep[];
}

export interface RepairPlan {
  /** Nodes with something to run (of the nodes asked for). */
  readonly nodes: readonly NodeRepair[];
  /** Failing checks of the nodes asked for (and the cluster's) that no step repairs. */
  readonly notRepairable: readonly Check[];
  /** Failing checks that follow from a repaired one (DF pings): re-checked after the repair. */
  readonly followers: readonly Check[];
}

/** The steps of `list` named in `ids`, with every `after` prerequisite, in the plan's order. */
export function withPrerequisites(steps: readonly HostStep[], ids: Iterable<string>): HostStep[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const want = new Set<string>();
  const visit = (id: string) => {
    const s = byId.get(id);
    if (!s) throw new Error(`repair: the plan has no step '${id}'`);
    if (want.has(id)) return;
    want.add(id);
    for (const a of s.after) visit(a);
  };
  for (const id of ids) visit(id);
  return steps.filter((s) => want.has(s.id));
}

/**
 * Which steps repair the failing checks of `checks` (a doctor run) on the nodes asked for
 * (default: every node of the plan). A rule whose step the plan does not have (swap-off when
 * hardening.swapOff is false) leaves the check not repairable.
 */
export function planRepair(plan: ClusterPlan, checks: readonly Check[], only?: readonly string[]): RepairPlan {
  const asked = new Set(only?.length ? only : plan.nodes.map((n) => n.name));
  const failing = checks.filter((c) => c.status === "FAIL" && (c.node === "cluster" || asked.has(c.node)));
  const nodes: NodeRepair[] = [];
  const notRepairable: Check[] = [];
  const handled = new Set<Check>();
  for (const node of plan.nodes.filter((n) => asked.has(n.name))) {
    const wanted: Record<StepList, Map<string, string[]>> = { hostSteps: new Map(), linkSteps: new Map() };
    const mine: Check[] = [];
    for (const c of failing.filter((x) => x.node === node.name)) {
      // A check the probe could not answer is no verdict: nothing is re-run for it.
      if (c.unanswered) continue;
      const rule = ruleFor(c);
      if (!rule?.steps.every((id) => node[rule.list].some((s) => s.id === id))) continue;
      for (const id of rule.steps) wanted[rule.list].set(id, [...(wanted[rule.list].get(id) ?? []), c.id]);
      mine.push(c);
      handled.add(c);
    }
    if (!mine.length) continue;
    const steps = (["hostSteps", "linkSteps"] as const).flatMap((list) =>
      withPrerequisites(node[list], wanted[list].keys()).map((step) => ({
        list,
        step,
        checks: wanted[list].get(step.id) ?? [],
      })),
    );
    nodes.push({ node: node.name, checks: mine, steps });
  }
  const linkRepaired = new Set(nodes.filter((n) => n.steps.some((s) => s.list === "linkSteps")).map((n) => n.node));
  const followers: Check[] = [];
  for (const c of failing) {
    if (handled.has(c)) continue;
    const peer = DF_PING.exec(c.id)?.[1];
    if (peer !== undefined && (linkRepaired.has(c.node) || linkRepaired.has(peer))) followers.push(c);
    else notRepairable.push(c);
  }
  return { nodes, notRepairable, followers };
}
