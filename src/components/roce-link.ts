/**
 * RoceLink: the RoCEv2 data plane between SparkNodes. Renders each node's plan `linkSteps`
 * (addresses + MTU applied and persisted in netplan, the post-reboot GID check) after that node
 * is ready, then the plan's don't-fragment pings over every twin in both directions. Outputs the
 * NCCL/UCX environment each node gets (from the plan).
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import type { ClusterPlan } from "../plan/types";
import { stepCommand, TOKEN_PREFIX } from "./common";
import type { SparkNode } from "./spark-node";

export interface RoceLinkArgs {
  /** The cluster plan (from `planCluster`). */
  plan: ClusterPlan;
  /** The SparkNodes at the ends of the link (every node of the plan, in any order). */
  nodes: SparkNode[];
}

export class RoceLink extends pulumi.ComponentResource {
  /** Per node: the link-derived environment (NCCL_IB_HCA, UCX_NET_DEVICES, NCCL_SOCKET_IFNAME, ...), from the plan. */
  public readonly nodeEnv: pulumi.Output<Record<string, Record<string, string>>>;
  /** Data-plane MTU. */
  public readonly mtu: pulumi.Output<number>;
  /** The link steps, by `<node>-<step id>`. */
  public readonly steps: Readonly<Record<string, remote.Command>>;
  /** The don't-fragment ping checks, by `<from>-<to>-t<twin>`. */
  public readonly checks: Readonly<Record<string, remote.Command>>;
  /** Depend on these for a verified link. */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: RoceLinkArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}RoceLink`, name, {}, opts);
    const byName = new Map(args.nodes.map((n) => [n.nodeName, n]));
    for (const n of args.plan.nodes) {
      if (!byName.has(n.name))
        throw new Error(
          `RoceLink ${name}: node ${n.name} of the plan has no SparkNode in nodes (got: ${[...byName.keys()].join(", ") || "none"})`,
        );
    }
    const child = { parent: this };

    const steps: Record<string, remote.Command> = {};
    const perNode: Record<string, remote.Command[]> = {};
    for (const n of args.plan.nodes) {
      const spark = byName.get(n.name) as SparkNode;
      const mine: Record<string, remote.Command> = {};
      for (const step of n.linkSteps) {
        const after = step.after.map((id) => {
          const dep = mine[id];
          if (!dep)
            throw new Error(
              `RoceLink ${name}: link step ${step.id} of node ${n.name} runs after '${id}', which is not an earlier link step`,
            );
          return dep;
        });
        const cmd = stepCommand(`${name}-${n.name}-${step.id}`, spark.connection, step, {
          ...child,
          dependsOn: [...spark.ready, ...after],
        });
        mine[step.id] = cmd;
        steps[`${n.name}-${step.id}`] = cmd;
      }
      perNode[n.name] = Object.values(mine);
    }
    this.steps = steps;

    const allSteps = Object.values(steps);
    const checks: Record<string, remote.Command> = {};
    for (const c of args.plan.link.checks) {
      const from = byName.get(c.from) as SparkNode;
      const id = `${c.from}-${c.to}-t${c.twin}`;
      checks[id] = new remote.Command(
        `${name}-ping-${id}`,
        { connection: from.connection, create: c.script },
        { ...child, dependsOn: allSteps },
      );
    }
    this.checks = checks;
    this.ready = [...allSteps, ...Object.values(checks)];

    this.nodeEnv = pulumi.output(Object.fromEntries(args.plan.nodes.map((n) => [n.name, { ...n.linkEnv }])));
    this.mtu = pulumi.output(args.plan.link.mtu);
    this.registerOutputs({ nodeEnv: this.nodeEnv, mtu: this.mtu });
  }
}
