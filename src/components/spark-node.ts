/**
 * SparkNode: one DGX Spark over SSH. Takes its own slice only (how to reach the node, its host
 * steps, its preflight checks, the UMA monitor) and renders it into resources: a first
 * "reachable" step with retries, the preflight checks, the host steps 1:1, the UMA headroom
 * monitor. It creates no docker provider (a node that is only hardened needs no docker plugin):
 * the components that create containers or images make one from `dockerHost` and `dockerSshOpts`.
 * `SparkNode.fromPlan(plan, {...})` gives the args for one node of a ClusterPlan.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote, type types } from "@pulumi/command";
import type { ConfigProblem } from "../config/errors";
import { hardeningSchema } from "../config/schema";
import { cacheStep, minFreeKbytesStep, swapOffStep } from "../plan/host";
import { umaMonitorStep } from "../plan/monitor";
import type { NodeMetricsSpec } from "../plan/observability";
import type { HostNames } from "../plan/types";
import { preflightChecks, reachableScript, type NodeCheck } from "../plan/service";
import type { ClusterPlan, HostStep, NodePlan } from "../plan/types";
import { sshOptions } from "../ssh/options";
import {
  inheritedDependsOn,
  logWarnings,
  stepCommand,
  TOKEN_PREFIX,
  warningsFor,
  type SparkNodeAccess,
} from "./common";

/** How to reach the node over SSH. */
export interface SparkNodeConnection {
  /** Address or name; may be an Output (e.g. another stack's or resource's address). */
  host: pulumi.Input<string>;
  /** @default 22 */
  port?: number;
  /** @default "root" */
  user?: string;
  /**
   * SSH private key (PEM/OpenSSH text), always stored as a Pulumi secret.
   * @default none: the SSH agent
   */
  privateKey?: pulumi.Input<string>;
  /**
   * The host's public key (`TYPE BASE64`), checked strictly by the docker provider's ssh.
   * @default none: any host key is taken, nothing is recorded
   */
  hostKey?: string;
  /**
   * How many times to retry the first SSH dial (a rebooting Spark takes a while).
   * @default 30
   */
  dialErrorLimit?: number;
  /**
   * Seconds per SSH dial attempt.
   * @default 15
   */
  perDialTimeout?: number;
}

/** The UMA headroom monitor (a systemd timer every 60 s). */
export interface SparkNodeMonitor {
  /**
   * Alert when MemAvailable falls below this many GiB.
   * @default 6 (the config default, `hardening.umaAlertThresholdGb`)
   */
  thresholdGb?: number;
  /**
   * Webhook the monitor POSTs to (passed on stdin, stored root-only on the host).
   * @default none (alerts go to the journal only)
   */
  webhookUrl?: pulumi.Input<string>;
  /**
   * Also write the node's metrics for the node exporter's textfile collector (observability).
   * @default none (`fromPlan` gives the plan's when `observability.enabled`)
   */
  nodeMetrics?: NodeMetricsSpec;
  /**
   * The cluster's host names (unit, script, journal): two clusters on one host need their own.
   * @default the plain names (`fromPlan` gives the plan's `names`)
   */
  names?: HostNames;
}

export interface SparkNodeArgs {
  /** The node's name: names its checks and messages, and keys it in the other components. */
  name: string;
  /** How to reach the node. */
  connection: SparkNodeConnection;
  /**
   * Host steps, in order (each with its journal-based delete). `after` names earlier steps.
   * @default hardeningSteps(): `vm.min_free_kbytes` 3145728 and swap off
   */
  hostSteps?: readonly HostStep[];
  /**
   * Read-only checks run after the node answers and before any host step.
   * @default [] (`fromPlan` gives the plan's: gpu, arch, docker, netdev, disk)
   */
  preflight?: readonly NodeCheck[];
  /**
   * The UMA headroom monitor, or `false` for none.
   * @default { thresholdGb: 6 }
   */
  umaMonitor?: SparkNodeMonitor | false;
  /**
   * Extra `ssh` client options for a docker provider on this node (it shells out to the local
   * `ssh`, not the key above): e.g. `["-i", "/home/me/.ssh/id_ed25519"]`. They come before the
   * library's own (BatchMode, timeouts, the pinned host key), so an option given here wins.
   * @default [] (the local ssh config / agent must reach the host)
   */
  dockerSshOpts?: string[];
  /** Config warnings about this node, shown as Pulumi warnings on it. @default [] */
  warnings?: readonly ConfigProblem[];
}

/** What `SparkNode.fromPlan` needs besides the plan. */
export interface SparkNodeFromPlan {
  /** Name of the node in `plan.nodes`. */
  node: string;
  /** SSH private key. @default none: required when the plan's node authenticates with a key */
  privateKey?: pulumi.Input<string>;
  /** Webhook of the UMA monitor. @default none */
  webhookUrl?: pulumi.Input<string>;
  /** Install the UMA headroom monitor. @default true */
  umaMonitor?: boolean;
  /** @default 30 */
  dialErrorLimit?: number;
  /** @default 15 */
  perDialTimeout?: number;
  /** @default [] */
  dockerSshOpts?: string[];
  /** Show the plan's warnings about this node on it. @default true */
  warnings?: boolean;
}

const HARDENING_DEFAULTS = hardeningSchema.parse({});

/**
 * The hardening steps of a node without a plan: `vm.min_free_kbytes`, swap off, and (given a
 * cache layout) the cache folders. Defaults are the config's (`hardening.*`).
 */
export function hardeningSteps(
  opts: { minFreeKbytes?: number; swapOff?: boolean; cache?: NodePlan["cache"] } = {},
): HostStep[] {
  return [
    ...(opts.cache ? [cacheStep(opts.cache)] : []),
    minFreeKbytesStep(opts.minFreeKbytes ?? HARDENING_DEFAULTS.minFreeKbytes),
    ...((opts.swapOff ?? HARDENING_DEFAULTS.swapOff) ? [swapOffStep()] : []),
  ];
}

export class SparkNode extends pulumi.ComponentResource implements SparkNodeAccess {
  /** The node's name. */
  public readonly nodeName: string;
  /** The SSH connection every remote.Command on this node uses (secret: it holds the key). */
  public readonly connection: pulumi.Output<types.input.remote.ConnectionArgs>;
  /** The docker host URL (`ssh://user@host:port`). */
  public readonly dockerHost: pulumi.Output<string>;
  /** The ssh client options a docker provider for this host uses: the user's own first, then the library's. */
  public readonly dockerSshOpts: readonly string[];
  /** The first step: the host answers over SSH. */
  public readonly reachable: remote.Command;
  /** Preflight checks, by check id. */
  public readonly preflight: Readonly<Record<string, remote.Command>>;
  /** The host steps, by step id, plus `uma-monitor`. */
  public readonly steps: Readonly<Record<string, remote.Command>>;
  /** Everything that must be done before the link and the image: depend on these. */
  public readonly ready: pulumi.Resource[];
  /** Output of the GPU preflight (name, compute capability); "" without a `gpu` check. */
  public readonly gpu: pulumi.Output<string>;

  /** The args for node `args.node` of a plan. Throws naming the node when it is not in the plan or lacks its key. */
  static fromPlan(plan: ClusterPlan, args: SparkNodeFromPlan): SparkNodeArgs {
    const index = plan.nodes.findIndex((n) => n.name === args.node);
    const node = plan.nodes[index];
    if (!node)
      throw new Error(
        `SparkNode.fromPlan: node '${args.node}' is not in the plan (nodes: ${plan.nodes.map((n) => n.name).join(", ")})`,
      );
    if (node.ssh.auth === "key" && args.privateKey === undefined)
      throw new Error(
        `SparkNode.fromPlan: node ${node.name} authenticates with a key but no privateKey was given: pass privateKey or set ssh.useAgent`,
      );
    return {
      name: node.name,
      connection: {
        host: node.ssh.host,
        port: node.ssh.port,
        user: node.ssh.user,
        ...(node.ssh.auth === "key" && args.privateKey !== undefined ? { privateKey: args.privateKey } : {}),
        ...(node.ssh.hostKey ? { hostKey: node.ssh.hostKey } : {}),
        ...(args.dialErrorLimit !== undefined ? { dialErrorLimit: args.dialErrorLimit } : {}),
        ...(args.perDialTimeout !== undefined ? { perDialTimeout: args.perDialTimeout } : {}),
      },
      hostSteps: node.hostSteps,
      preflight: preflightChecks(plan, node),
      umaMonitor:
        (args.umaMonitor ?? true)
          ? {
              thresholdGb: plan.hardening.umaAlertThresholdGb,
              names: plan.names,
              ...(args.webhookUrl !== undefined ? { webhookUrl: args.webhookUrl } : {}),
              ...(plan.observability.enabled && plan.observability.nodeMetrics[node.name]
                ? { nodeMetrics: plan.observability.nodeMetrics[node.name] }
                : {}),
            }
          : false,
      ...(args.dockerSshOpts ? { dockerSshOpts: args.dockerSshOpts } : {}),
      warnings: (args.warnings ?? true) ? warningsFor(plan, { node: index }) : [],
    };
  }

  constructor(name: string, args: SparkNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}SparkNode`, name, {}, opts);
    logWarnings(args.warnings, this);
    const c = args.connection;
    const port = c.port ?? 22;
    const user = c.user ?? "root";
    this.nodeName = args.name;

    const connection = pulumi.secret(
      pulumi.output({
        host: c.host,
        port,
        user,
        ...(c.privateKey !== undefined ? { privateKey: c.privateKey } : {}),
        ...(c.hostKey ? { hostKey: c.hostKey } : {}),
        dialErrorLimit: c.dialErrorLimit ?? 30,
        perDialTimeout: c.perDialTimeout ?? 15,
      }),
    ) as pulumi.Output<types.input.remote.ConnectionArgs>;
    this.connection = connection;
    const inherited = inheritedDependsOn(`SparkNode ${name}`, opts);
    const child = (deps: pulumi.Input<pulumi.Resource>[]): pulumi.CustomResourceOptions => ({
      parent: this,
      dependsOn: [...inherited, ...deps],
    });

    this.reachable = new remote.Command(
      `${name}-reachable`,
      { connection, create: reachableScript({ name: args.name }) },
      child([]),
    );

    const preflight: Record<string, remote.Command> = {};
    for (const check of args.preflight ?? []) {
      preflight[check.id] = new remote.Command(
        `${name}-preflight-${check.id}`,
        { connection, create: check.script },
        child([this.reachable]),
      );
    }
    this.preflight = preflight;
    const preflightAll = Object.values(preflight);
    this.gpu = preflight.gpu ? preflight.gpu.stdout : pulumi.output("");
    const afterChecks = preflightAll.length > 0 ? preflightAll : [this.reachable];

    const steps = hostStepCommands(name, args, connection, child, afterChecks);
    this.steps = steps;
    this.ready = [this.reachable, ...preflightAll, ...Object.values(steps)];

    this.dockerHost = pulumi.output(c.host).apply((h) => `ssh://${user}@${h.includes(":") ? `[${h}]` : h}:${port}`);
    // The one SSH option builder (src/ssh): the pinned host key is checked against the pin, not
    // the user's known_hosts, and nothing is recorded. The user's own options come first, so
    // ssh (first value wins) lets them override ours.
    this.dockerSshOpts = [
      ...(args.dockerSshOpts ?? []),
      ...sshOptions({ port, ...(c.hostKey ? { hostKey: c.hostKey } : {}) }),
    ];

    this.registerOutputs({ nodeName: this.nodeName, dockerHost: this.dockerHost, gpu: this.gpu });
  }
}

/** The host steps in order (each after the checks and the steps it names), then the UMA monitor. */
function hostStepCommands(
  name: string,
  args: SparkNodeArgs,
  connection: pulumi.Output<types.input.remote.ConnectionArgs>,
  child: (deps: pulumi.Input<pulumi.Resource>[]) => pulumi.CustomResourceOptions,
  afterChecks: pulumi.Resource[],
): Record<string, remote.Command> {
  const steps: Record<string, remote.Command> = {};
  for (const step of args.hostSteps ?? hardeningSteps()) {
    const after = step.after.map((id) => {
      const dep = steps[id];
      if (!dep)
        throw new Error(
          `SparkNode ${name}: host step ${step.id} runs after '${id}', which is not an earlier step of node ${args.name}`,
        );
      return dep;
    });
    steps[step.id] = stepCommand(`${name}-${step.id}`, connection, step, child([...afterChecks, ...after]));
  }
  const monitorArgs = args.umaMonitor ?? {};
  if (monitorArgs !== false) {
    const monitor = umaMonitorStep(
      args.name,
      monitorArgs.thresholdGb ?? HARDENING_DEFAULTS.umaAlertThresholdGb,
      monitorArgs.nodeMetrics,
      monitorArgs.names,
    );
    steps[monitor.id] = stepCommand(`${name}-${monitor.id}`, connection, monitor, child(afterChecks), {
      stdin: monitorArgs.webhookUrl ?? "",
    });
  }
  return steps;
}
