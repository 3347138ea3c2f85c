/**
 * The environment of the vLLM process on one node: every variable RECIPE.md lists, derived from
 * the link, the model, the profile and the launcher. Pure; keys sorted for stable output.
 */
import type { ClusterConfig, NodeConfig } from "../config/schema";
import type { ModelSpec } from "../models/deepseek-v4-flash";
import type { ResolvedProfile } from "./profile";

/** THE fix for the UMA-OOM host freeze (UCX registration-cache leak): on every node, every profile. */
export const UCX_LEAK_FIX: Readonly<Record<string, string>> = {
  UCX_MEM_MMAP_HOOK_MODE: "none",
  UCX_RCACHE_MAX_UNRELEASED: "1024",
};

/** Required above 262144 tokens of context. */
export const LONG_CONTEXT_ENV: Readonly<Record<string, string>> = {
  VLLM_ALLOW_LONG_MAX_MODEL_LEN: "1",
  VLLM_SPARSE_INDEXER_MAX_LOGITS_MB: "256",
};

/** Ray's settings from the recipe (Ray launcher only: with mp there is no Ray in the pool). */
export const RAY_ENV: Readonly<Record<string, string>> = {
  RAY_memory_monitor_refresh_ms: "0",
  RAY_num_prestart_python_workers: "0",
  RAY_object_store_memory: "1073741824",
};

/** Sort an env map by key so that the plan, and every resource input, is stable. */
export function sortedEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(env)
      .sort()
      .map((k) => [k, env[k] as string]),
  );
}

export interface EnvInputs {
  readonly config: ClusterConfig;
  readonly node: NodeConfig;
  readonly head: NodeConfig;
  readonly profile: ResolvedProfile;
  readonly model: ModelSpec;
}

/** Variables derived from this node's end of the link. */
export function linkEnv(node: NodeConfig, head: NodeConfig, config: ClusterConfig): Record<string, string> {
  const primary = node.dataPlane[0];
  const headAddr = head.dataPlane[0];
  if (!primary || !headAddr) throw new Error(`node ${node.name} has no data-plane port`);
  const env: Record<string, string> = {
    VLLM_HOST_IP: primary.address,
    UCX_NET_DEVICES: node.dataPlane.map((p) => p.netdev).join(","),
    NCCL_SOCKET_IFNAME: primary.netdev,
    GLOO_SOCKET_IFNAME: primary.netdev,
    TP_SOCKET_IFNAME: primary.netdev,
    OMPI_MCA_btl_tcp_if_include: primary.netdev,
    MN_IF_NAME: primary.netdev,
    NCCL_IB_HCA: node.dataPlane.map((p) => p.hca).join(","),
    NCCL_IB_DISABLE: "0",
    NCCL_IGNORE_CPU_AFFINITY: "1",
    MASTER_ADDR: headAddr.address,
    MASTER_PORT: String(config.link.masterPort),
  };
  // auto: unset (NCCL >= 2.21 picks the RoCEv2 GID; an empty value would mean index 0).
  // resolve: set at container start by the GID resolver (see plan/launch.ts).
  if (typeof config.link.gidPolicy === "object") env.NCCL_IB_GID_INDEX = String(config.link.gidPolicy.index);
  if (config.serving.launcher === "ray") {
    env.RAY_NODE_IP_ADDRESS = primary.address;
    env.RAY_OVERRIDE_NODE_IP_ADDRESS = primary.address;
  }
  return env;
}

/** The full plain environment of the vLLM process on `node`. */
export function nodeEnv(i: EnvInputs): Record<string, string> {
  return sortedEnv({
    ...i.config.serving.extraEnv,
    ...i.model.env,
    ...(i.profile.longContextEnv ? LONG_CONTEXT_ENV : {}),
    ...(i.config.serving.launcher === "ray" ? RAY_ENV : {}),
    ...linkEnv(i.node, i.head, i.config),
    ...UCX_LEAK_FIX,
    // delivery local: the weights are on disk and verified; the engine never asks the hub.
    ...(i.config.model.delivery === "local" ? { HF_HUB_OFFLINE: "1" } : {}),
  });
}

/** Variables whose values come from secrets (names only). */
export function nodeSecretEnv(config: ClusterConfig, node: NodeConfig): string[] {
  const out: string[] = [];
  if (config.model.hfToken) out.push("HF_TOKEN");
  if (node.role === "head" && config.serving.apiKey && !config.serving.allowUnauthenticated) out.push("VLLM_API_KEY");
  return out.sort();
}
