/**
 * DeepSeekV4Cluster: everything, from a validated config. Plans it (`planCluster`), then builds
 * one SparkNode per node, the RoceLink between them, the VllmImage on every node and the
 * VllmService. Order: reachable -> preflight -> hardening and link -> image on every node ->
 * worker rank(s) -> head -> readiness.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../config/schema";
import type { ConfigProblem } from "../config/errors";
import { planCluster } from "../plan/cluster";
import type { ClusterPlan } from "../plan/types";
import { apiKeyInput, inheritedDependsOn, secretInput, TOKEN_PREFIX } from "./common";
import { Observability } from "./observability";
import { RoceLink } from "./roce-link";
import { SparkNode } from "./spark-node";
import { VllmImage } from "./vllm-image";
import { VllmService } from "./vllm-service";

export interface DeepSeekV4ClusterArgs {
  /** The validated config (`loadClusterConfig(input, "deploy").config`). */
  config: ClusterConfig;
  /** Warnings from `loadClusterConfig`, shown as Pulumi warnings. @default [] */
  warnings?: readonly ConfigProblem[];
  /** Extra ssh client options for every node's docker provider (e.g. `["-i", "~/.ssh/id_ed25519"]`). @default [] */
  dockerSshOpts?: string[];
  /** Readiness timeout, seconds. @default 1800 */
  readinessTimeoutSeconds?: number;
  /** Folder holding docker/ for the source build. @default this package's root */
  contextRoot?: string;
  /**
   * Put this name into every container, systemd unit, script and journal name on the hosts, so
   * two clusters on one Spark (in one stack or two) do not clash (`planCluster`'s `instance`).
   * `null`: the plain names (`dgx-spark-vllm-<node>`, ...) that `plan`, `doctor` and `repair` read.
   * @default this component's name
   */
  instance?: string | null;
}

export class DeepSeekV4Cluster extends pulumi.ComponentResource {
  /** The plan everything was rendered from (no secret values in it). */
  public readonly plan: ClusterPlan;
  public readonly nodes: readonly SparkNode[];
  public readonly link: RoceLink;
  public readonly image: VllmImage;
  public readonly service: VllmService;
  /** OpenAI-compatible base URL, once ready. */
  public readonly endpoint: pulumi.Output<string>;
  public readonly servedModelName: pulumi.Output<string>;
  public readonly maxModelLen: pulumi.Output<number>;
  /** The image ID every node reports. */
  public readonly imageId: pulumi.Output<string>;
  /** Prometheus, Alertmanager, Grafana and the node exporters; only with observability.enabled. */
  public readonly observability?: Observability;

  constructor(name: string, args: DeepSeekV4ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}DeepSeekV4Cluster`, name, {}, opts);
    const config = args.config;
    const plan = planCluster(
      config,
      args.warnings ?? [],
      args.instance === null ? {} : { instance: args.instance ?? name },
    );
    this.plan = plan;
    // The plan's warnings are shown by the component each concerns (fromPlan), once each; those
    // about the cluster as a whole by the first one built (the head's SparkNode).
    for (const n of plan.notes) pulumi.log.info(`${n.path} ${n.message}`, this);
    // The cluster's own dependsOn reaches every component below it (and so every resource).
    const inherited = inheritedDependsOn(`DeepSeekV4Cluster ${name}`, opts);
    const child = { parent: this, dependsOn: inherited };

    const hfToken = secretInput(config.model.hfToken);
    const apiKey = config.serving.allowUnauthenticated ? undefined : apiKeyInput(config.serving.apiKey);
    const webhook = config.hardening.webhookUrl ? pulumi.secret(config.hardening.webhookUrl) : undefined;

    this.nodes = plan.nodes.map((np) => {
      const nc = config.nodes.find((n) => n.name === np.name);
      const key = np.ssh.auth === "key" ? secretInput(nc?.ssh.privateKey ?? config.ssh.privateKey) : undefined;
      const a = SparkNode.fromPlan(plan, {
        node: np.name,
        ...(key ? { privateKey: key } : {}),
        ...(webhook ? { webhookUrl: webhook } : {}),
        ...(args.dockerSshOpts ? { dockerSshOpts: args.dockerSshOpts } : {}),
      });
      return new SparkNode(`${name}-${np.name}`, a, child);
    });
    const nodes = [...this.nodes];
    this.link = new RoceLink(`${name}-link`, RoceLink.fromPlan(plan, { nodes }), child);
    const afterLink = { parent: this, dependsOn: [...inherited, ...this.link.ready] };
    const contextRoot = args.contextRoot ? { contextRoot: args.contextRoot } : {};
    this.image = new VllmImage(`${name}-image`, VllmImage.fromPlan(plan, { nodes, ...contextRoot }), afterLink);
    this.service = new VllmService(
      `${name}-service`,
      VllmService.fromPlan(plan, {
        nodes,
        image: this.image,
        ...(apiKey ? { apiKey } : {}),
        ...(hfToken ? { hfToken } : {}),
        ...(args.readinessTimeoutSeconds ? { readinessTimeoutSeconds: args.readinessTimeoutSeconds } : {}),
      }),
      afterLink,
    );
    if (plan.observability.enabled) {
      const adminPassword = secretInput(config.observability.grafana.adminPassword);
      if (!adminPassword) throw new Error(`DeepSeekV4Cluster ${name}: observability.grafana.adminPassword is required`);
      const o = {
        plan,
        nodes,
        adminPassword,
        ...(apiKey ? { apiKey } : {}),
        ...(webhook ? { webhookUrl: webhook } : {}),
      };
      this.observability = new Observability(`${name}-observability`, o, child);
    }
    this.endpoint = this.service.endpoint;
    this.servedModelName = this.service.servedModelName;
    this.maxModelLen = this.service.maxModelLen;
    this.imageId = this.image.imageId;
    this.registerOutputs({
      endpoint: this.endpoint,
      servedModelName: this.servedModelName,
      maxModelLen: this.maxModelLen,
      imageId: this.imageId,
      ...(this.observability
        ? { grafanaUrl: this.observability.grafanaUrl, prometheusUrl: this.observability.prometheusUrl }
        : {}),
    });
  }
}
