/**
 * DeepSeekV4Replicas: `serving.replicas` > 1. One DeepSeekV4Cluster per replica (`<name>-r<i>`),
 * each from its own slice of the config (its nodes, one head), so each has its own endpoint. With
 * serving.router.enabled, a VllmRouter (vLLM's own router) in front of them: its endpoint is the
 * deployment's `endpoint` (docs/router.md); without it, `endpoint` is replica 0's.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ConfigProblem } from "../config/errors";
import type { ClusterConfig } from "../config/schema";
import { planDeployment, replicaConfigs } from "../plan/replicas";
import { DeepSeekV4Cluster, type DeepSeekV4ClusterArgs } from "./cluster";
import { apiKeyInput, inheritedDependsOn, TOKEN_PREFIX } from "./common";
import { VllmRouter } from "./vllm-router";

export interface DeepSeekV4ReplicasArgs extends Omit<DeepSeekV4ClusterArgs, "config"> {
  /** The validated config with serving.replicas >= 1 and nodes[].replica set. */
  config: ClusterConfig;
  /** Warnings from `loadClusterConfig`, shown once per replica. @default [] */
  warnings?: readonly ConfigProblem[];
}

export class DeepSeekV4Replicas extends pulumi.ComponentResource {
  /** One cluster per replica, in replica order. */
  public readonly replicas: readonly DeepSeekV4Cluster[];
  /** Each replica's OpenAI-compatible base URL, once ready, in replica order. */
  public readonly endpoints: pulumi.Output<string[]>;
  /** serving.router.enabled: vLLM's router in front of the replicas. */
  public readonly router?: VllmRouter;
  /** The deployment's endpoint: the router's when enabled, else replica 0's. */
  public readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: DeepSeekV4ReplicasArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}DeepSeekV4Replicas`, name, {}, opts);
    const { config, ...rest } = args;
    // A dependsOn in opts reaches every replica (and through each cluster, every resource).
    const child = { parent: this, dependsOn: inheritedDependsOn(`DeepSeekV4Replicas ${name}`, opts) };
    this.replicas = replicaConfigs(config).map(
      (c, i) => new DeepSeekV4Cluster(`${name}-r${i}`, { ...rest, config: c }, child),
    );
    this.endpoints = pulumi.all(this.replicas.map((r) => r.endpoint));
    const service = config.serving.router.enabled
      ? planDeployment(config, args.warnings ?? []).router?.service
      : undefined;
    if (service) {
      const node = this.replicas.flatMap((r) => r.nodes).find((n) => n.nodeName === service.node);
      if (!node) throw new Error(`DeepSeekV4Replicas ${name}: the router's node ${service.node} is in no replica`);
      const apiKey = config.serving.allowUnauthenticated ? undefined : apiKeyInput(config.serving.apiKey);
      this.router = new VllmRouter(
        `${name}-router`,
        { service, node, workers: this.replicas.map((r) => r.endpoint), ...(apiKey ? { apiKey } : {}) },
        child,
      );
    }
    this.endpoint = this.router ? this.router.endpoint : (this.replicas[0] as DeepSeekV4Cluster).endpoint;
    this.registerOutputs({ endpoints: this.endpoints, endpoint: this.endpoint });
  }
}
