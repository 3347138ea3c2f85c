/**
 * A cluster built in code: the config is a plain object (no stack sections), the secrets come
 * from this project's own Pulumi config as secret Outputs.
 *   pulumi config set --secret hfToken <token>
 *   pulumi config set --secret apiKey <key>
 *   pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519
 */
import * as pulumi from "@pulumi/pulumi";
import { DeepSeekV4Cluster, loadClusterConfig } from "dgx-spark-vllm";

const cfg = new pulumi.Config();

const { config, warnings } = loadClusterConfig(
  {
    ssh: { user: "spark", privateKey: cfg.requireSecret("sshPrivateKey") },
    nodes: [
      {
        name: "spark-a",
        role: "head",
        ssh: { host: "192.168.1.11" },
        dataPlane: [{ netdev: "enp1s0f1np1", hca: "rocep1s0f1", address: "10.0.0.1", prefix: 30 }],
      },
      {
        name: "spark-b",
        role: "worker",
        ssh: { host: "192.168.1.12" },
        dataPlane: [{ netdev: "enp1s0f1np1", hca: "rocep1s0f1", address: "10.0.0.2", prefix: 30 }],
      },
    ],
    model: { hfToken: cfg.requireSecret("hfToken") },
    serving: { profile: "256k", apiKey: cfg.requireSecret("apiKey") },
  },
  "deploy",
);

const cluster = new DeepSeekV4Cluster("dsv4", { config, warnings });

export const endpoint = cluster.endpoint;
export const servedModelName = cluster.servedModelName;
export const maxModelLen = cluster.maxModelLen;
export const imageId = cluster.imageId;
