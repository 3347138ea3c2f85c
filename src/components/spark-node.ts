/**
 * SparkNode: one DGX Spark over SSH. Renders the plan's node pieces into resources: a first
 * "reachable" step with retries, the preflight checks, the plan's host steps 1:1, the UMA
 * headroom monitor. It creates no docker provider (a node that is only hardened needs no docker
 * plugin): the components that create containers or images make one from `dockerHost` and
 * `dockerSshOpts` with `dockerProviderFor`.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote, type types } from "@pulumi/command";
import { umaMonitorStep } from "../plan/monitor";
import { preflightChecks, reachableScript } from "../plan/service";
import type { ClusterPlan, NodePlan } from "../plan/types";
import { sshOptions } from "../ssh/options";
import { stepCommand, TOKEN_PREFIX } from "./common";

export interface SparkNodeArgs {
  /** The cluster plan (from `planCluster`). */
  plan: ClusterPlan;
  /** Name of the node in `plan.nodes`. */
  node: string;
  /**
   * SSH private key (PEM/OpenSSH text). Always stored as a Pulumi secret.
   * @default none: use the SSH agent (`plan.nodes[].ssh.auth` = "agent")
   */
  privateKey?: pulumi.Input<string>;
  /**
   * Webhook the UMA headroom monitor POSTs to (passed on stdin, stored root-only on the host).
   * @default none (alerts go to the journal only)
   */
  webhookUrl?: pulumi.Input<string>;
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
  /**
   * Extra `ssh` client options for the docker provider (it shells out to the local `ssh`, not the
   * key above): e.g. `["-i", "/home/me/.ssh/id_ed25519"]`. They come before the library's own
   * (BatchMode, timeouts, the pinned host key), so an option given here takes precedence.
   * @default [] (the local ssh config / agent must reach the host)
   */
  dockerSshOpts?: string[];
  /**
   * Install the UMA headroom monitor (systemd timer every 60 s).
   * @default true
   */
  umaMonitor?: boolean;
}

export class SparkNode extends pulumi.ComponentResource {
  /** The node's name in the plan. */
  public readonly nodeName: string;
  /** The node's plan (read-only data). */
  public readonly nodePlan: NodePlan;
  /** The SSH connection every remote.Command on this node uses (secret: it holds the key). */
  public readonly connection: pulumi.Output<types.input.remote.ConnectionArgs>;
  /** The docker host URL (`ssh://user@host:port`). */
  public readonly dockerHost: pulumi.Output<string>;
  /** The ssh client options a docker provider for this host uses: the user's own first, then the library's. */
  public readonly dockerSshOpts: readonly string[];
  /** The first step: the host answers over SSH. */
  public readonly reachable: remote.Command;
  /** Preflight checks, by check id (gpu, arch, docker, netdev, disk). */
  public readonly preflight: Readonly<Record<string, remote.Command>>;
  /** The plan's host steps, by step id, plus `uma-monitor`. */
  public readonly steps: Readonly<Record<string, remote.Command>>;
  /** Everything that must be done before the link and the image: depend on these. */
  public readonly ready: pulumi.Resource[];
  /** Output of the GPU preflight (name, compute capability). */
  public readonly gpu: pulumi.Output<string>;

  constructor(name: string, args: SparkNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}SparkNode`, name, {}, opts);
    const node = args.plan.nodes.find((n) => n.name === args.node);
    if (!node)
      throw new Error(
        `SparkNode ${name}: node '${args.node}' is not in the plan (nodes: ${args.plan.nodes.map((n) => n.name).join(", ")})`,
      );
    if (node.ssh.auth === "key" && args.privateKey === undefined) {
      throw new Error(
        `SparkNode ${name}: node ${node.name} authenticates with a key but no privateKey was given: pass privateKey or set ssh.useAgent`,
      );
    }
    this.nodeName = node.name;
    this.nodePlan = node;

    const connection = pulumi.secret(
      pulumi.output({
        host: node.ssh.host,
        port: node.ssh.port,
        user: node.ssh.user,
        ...(node.ssh.auth === "key" && args.privateKey !== undefined ? { privateKey: args.privateKey } : {}),
        ...(node.ssh.hostKey ? { hostKey: node.ssh.hostKey } : {}),
        dialErrorLimit: args.dialErrorLimit ?? 30,
        perDialTimeout: args.perDialTimeout ?? 15,
      }),
    ) as pulumi.Output<types.input.remote.ConnectionArgs>;
    this.connection = connection;
    const child = { parent: this };

    this.reachable = new remote.Command(`${name}-reachable`, { connection, create: reachableScript(node) }, child);

    const preflight: Record<string, remote.Command> = {};
    for (const check of preflightChecks(args.plan, node)) {
      preflight[check.id] = new remote.Command(
        `${name}-preflight-${check.id}`,
        { connection, create: check.script },
        { ...child, dependsOn: [this.reachable] },
      );
    }
    this.preflight = preflight;
    const preflightAll = Object.values(preflight);
    this.gpu = (preflight.gpu as remote.Command).stdout;

    const steps: Record<string, remote.Command> = {};
    for (const step of node.hostSteps) {
      const after = step.after.map((id) => {
        const dep = steps[id];
        if (!dep)
          throw new Error(
            `SparkNode ${name}: host step ${step.id} runs after '${id}', which is not an earlier step of node ${node.name}`,
          );
        return dep;
      });
      steps[step.id] = stepCommand(`${name}-${step.id}`, connection, step, {
        ...child,
        dependsOn: [...preflightAll, ...after],
      });
    }
    if (args.umaMonitor ?? true) {
      const monitor = umaMonitorStep(node.name, args.plan.hardening.umaAlertThresholdGb, args.plan.names);
      steps[monitor.id] = stepCommand(
        `${name}-${monitor.id}`,
        connection,
        monitor,
        { ...child, dependsOn: preflightAll },
        { stdin: args.webhookUrl ?? "" },
      );
    }
    this.steps = steps;
    this.ready = [this.reachable, ...preflightAll, ...Object.values(steps)];

    const hostPart = node.ssh.host.includes(":") ? `[${node.ssh.host}]` : node.ssh.host;
    const dockerHost = `ssh://${node.ssh.user}@${hostPart}:${node.ssh.port}`;
    this.dockerHost = pulumi.output(dockerHost);
    // The one SSH option builder (src/ssh): the pinned host key is checked against the pin, not
    // the user's known_hosts, and nothing is recorded. The user's own options come first, so
    // ssh (first value wins) lets them override ours.
    this.dockerSshOpts = [...(args.dockerSshOpts ?? []), ...sshOptions(node.ssh)];

    this.registerOutputs({ nodeName: this.nodeName, dockerHost: this.dockerHost, gpu: this.gpu });
  }
}
