/**
 * The 512K profile with two fields overridden: --gpu-memory-utilization 0.82 (only on a clean,
 * dedicated node) and --max-num-seqs 16 (the recipe's live production). The node layout comes from
 * this project's stack config (`nodes`, same shape as the library's stacks/); secrets as in the
 * other example.
 */
import * as pulumi from "@pulumi/pulumi";
import { DeepSeekV4Cluster, loadClusterConfig, type ClusterConfigInput } from "dgx-spark-vllm";

const cfg = new pulumi.Config();

const input: ClusterConfigInput = {
  ssh: { user: cfg.get("sshUser") ?? "spark", privateKey: cfg.requireSecret("sshPrivateKey") },
  nodes: cfg.requireObject<ClusterConfigInput["nodes"]>("nodes"),
  model: { hfToken: cfg.requireSecret("hfToken") },
  serving: {
    profile: { base: "512k", maxNumSeqs: 16 },
    gpuMemoryUtilization: 0.82,
    apiKey: cfg.requireSecret("apiKey"),
  },
};

const { config, warnings } = loadClusterConfig(input, "deploy");
const cluster = new DeepSeekV4Cluster("dsv4-512k", { config, warnings });

export const endpoint = cluster.endpoint;
export const maxModelLen = cluster.maxModelLen;
export const profile = cluster.plan.profile.name;
export const maxNumSeqs = cluster.plan.profile.maxNumSeqs;
