/**
 * RoceLink: the RoCEv2 data plane between nodes. Takes the link and its ends: per end the node and
 * its link steps (addresses + MTU applied and persisted in netplan, the post-reboot GID check),
 * rendered after that node is ready, then the don't-fragment pings over every twin in both
 * directions. Outputs the NCCL/UCX environment each end gets. `RoceLink.fromPlan(plan, {nodes})`
 * gives the args for a ClusterPlan's link.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import type { ConfigProblem } from "../config/errors";
import type { ClusterPlan, HostStep } from "../plan/types";
import {
  inheritedDependsOn,
  logWarnings,
  nodesByName,
  stepCommand,
  TOKEN_PREFIX,
  warningsFor,
  type SparkNodeAccess,
} from "./common";
import type { SparkNode } from "./spark-node";

/** One end of the link: a node and what it runs for the link. */
export interface RoceLinkEnd {
  /** A SparkNode, or any node with the same access (name, connection, ready). */
  node: SparkNode | SparkNodeAccess;
  /** Link steps on this node, in order; `after` names earlier link steps of the same node. */
  steps: readonly HostStep[];
  /** The link-derived environment of this end (NCCL_IB_HCA, UCX_NET_DEVICES, ...). @default {} */
  env?: Readonly<Record<string, string>>;
}

/** A read-only check run on one end once every end's steps are done (e.g. a don't-fragment ping). */
export interface RoceLinkCheck {
  /** The node it runs on. */
  from: SparkNode | SparkNodeAccess;
  /** Names the check's resource (`<link>-ping-<id>`) and keys `checks`. */
  id: string;
  script: string;
}

export interface RoceLinkArgs {
  /** The ends of the link. */
  ends: readonly RoceLinkEnd[];
  /** Data-plane MTU (an output; the steps apply it). */
  mtu: number;
  /** Checks over the finished link. @default [] */
  checks?: readonly RoceLinkCheck[];
  /** Config warnings about the link, shown as Pulumi warnings on it. @default [] */
  warnings?: readonly ConfigProblem[];
}

/** What `RoceLink.fromPlan` needs besides the plan. */
export interface RoceLinkFromPlan {
  /** The nodes at the ends (every node of the plan, in any order). */
  nodes: readonly (SparkNode | SparkNodeAccess)[];
  /** Show the plan's link warnings on it. @default true */
  warnings?: boolean;
}

export class RoceLink extends pulumi.ComponentResource {
  /** Per node: the link-derived environment (NCCL_IB_HCA, UCX_NET_DEVICES, NCCL_SOCKET_IFNAME, ...). */
  public readonly nodeEnv: pulumi.Output<Record<string, Record<string, string>>>;
  /** Data-plane MTU. */
  public readonly mtu: pulumi.Output<number>;
  /** The link steps, by `<node>-<step id>`. */
  public readonly steps: Readonly<Record<string, remote.Command>>;
  /** The checks, by id (`<from>-<to>-t<twin>` for the plan's pings). */
  public readonly checks: Readonly<Record<string, remote.Command>>;
  /** Depend on these for a verified link. */
  public readonly ready: pulumi.Resource[];

  /** The args for a plan's link. Throws naming every node of the plan missing from `nodes`. */
  static fromPlan(plan: ClusterPlan, args: RoceLinkFromPlan): RoceLinkArgs {
    const node = nodesByName(
      "RoceLink.fromPlan",
      plan.nodes.map((n) => n.name),
      args.nodes,
    );
    return {
      ends: plan.nodes.map((n) => ({ node: node(n.name), steps: n.linkSteps, env: n.linkEnv })),
      mtu: plan.link.mtu,
      checks: plan.link.checks.map((c) => ({
        from: node(c.from),
        id: `${c.from}-${c.to}-t${c.twin}`,
        script: c.script,
      })),
      warnings: (args.warnings ?? true) ? warningsFor(plan, "link") : [],
    };
  }

  constructor(name: string, args: RoceLinkArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}RoceLink`, name, {}, opts);
    logWarnings(args.warnings, this);
    const inherited = inheritedDependsOn(`RoceLink ${name}`, opts);
    const child = (deps: pulumi.Input<pulumi.Resource>[]): pulumi.CustomResourceOptions => ({
      parent: this,
      dependsOn: [...inherited, ...deps],
    });

    const steps: Record<string, remote.Command> = {};
    for (const end of args.ends) {
      const n = end.node;
      const mine: Record<string, remote.Command> = {};
      for (const step of end.steps) {
        const after = step.after.map((id) => {
          const dep = mine[id];
          if (!dep)
            throw new Error(
              `RoceLink ${name}: link step ${step.id} of node ${n.nodeName} runs after '${id}', which is not an earlier link step`,
            );
          return dep;
        });
        const cmd = stepCommand(
          `${name}-${n.nodeName}-${step.id}`,
          n.connection,
          step,
          child([...(n.ready ?? []), ...after]),
        );
        mine[step.id] = cmd;
        steps[`${n.nodeName}-${step.id}`] = cmd;
      }
    }
    this.steps = steps;

    const allSteps = Object.values(steps);
    const checks: Record<string, remote.Command> = {};
    for (const c of args.checks ?? []) {
      checks[c.id] = new remote.Command(
        `${name}-ping-${c.id}`,
        { connection: c.from.connection, create: c.script },
        child(allSteps),
      );
    }
    this.checks = checks;
    this.ready = [...allSteps, ...Object.values(checks)];

    this.nodeEnv = pulumi.output(Object.fromEntries(args.ends.map((e) => [e.node.nodeName, { ...(e.env ?? {}) }])));
    this.mtu = pulumi.output(args.mtu);
    this.registerOutputs({ nodeEnv: this.nodeEnv, mtu: this.mtu });
  }
}
