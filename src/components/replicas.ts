/**
 * DeepSeekV4Replicas: `serving.replicas` > 1. One DeepSeekV4Cluster per replica (`<name>-r<i>`),
 * each from its own slice of the config (its nodes, one head), so each has its own endpoint. The
 * router that spreads requests over the endpoints is not a resource here (docs/operations.md).
 */
import * as pulumi from "@pulumi/pulumi";
import type { ConfigProblem } from "../config/errors";
import type { ClusterConfig } from "../config/schema";
import { replicaConfigs } from "../plan/replicas";
import { DeepSeekV4Cluster, type DeepSeekV4ClusterArgs } from "./cluster";
import { inheritedDependsOn, TOKEN_PREFIX } from "./common";

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

  constructor(name: string, args: DeepSeekV4ReplicasArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}DeepSeekV4Replicas`, name, {}, opts);
    const { config, ...rest } = args;
    // A dependsOn in opts reaches every replica (and through each cluster, every resource).
    const child = { parent: this, dependsOn: inheritedDependsOn(`DeepSeekV4Replicas ${name}`, opts) };
    this.replicas = replicaConfigs(config).map(
      (c, i) => new DeepSeekV4Cluster(`${name}-r${i}`, { ...rest, config: c }, child),
    );
    this.endpoints = pulumi.all(this.replicas.map((r) => r.endpoint));
    this.registerOutputs({ endpoints: this.endpoints });
  }
}
