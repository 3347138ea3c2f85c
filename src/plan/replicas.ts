/**
 * More than one replica (`serving.replicas`): the nodes split by `nodes[].replica` into independent
 * clusters of TP x PP nodes, each with its own head, ranks, link checks, watchdog and endpoint, planned
 * one by one by planCluster. With serving.router.enabled, vLLM's own router (src/plan/router.ts)
 * spreads requests over them and its endpoint is the deployment's; otherwise the plan names the
 * endpoints a router in front would balance (docs/router.md).
 */
import { loadClusterConfig, type LoadMode } from "../config/load";
import type { ConfigProblem } from "../config/errors";
import type { ClusterConfig } from "../config/schema";
import { planCluster } from "./cluster";
import { planRouterService, type RouterServicePlan } from "./router";
import { routerExposure } from "./exposure";
import type { ClusterPlan, PortEntry } from "./types";

export interface RouterPlan {
  /** The model name every replica serves (a router forwards it unchanged). */
  readonly servedName: string;
  /** Each replica's OpenAI-compatible base URL, in replica order. */
  readonly endpoints: readonly string[];
  readonly note: string;
  /** serving.router.enabled: vLLM's router, whose endpoint is the deployment's. */
  readonly service?: RouterServicePlan;
  /** The router's ports (with service), as the replicas' `exposure`. */
  readonly exposure?: readonly PortEntry[];
}

export interface DeploymentPlan {
  readonly replicas: readonly ClusterPlan[];
  /** Set when there is more than one replica. */
  readonly router?: RouterPlan;
}

/** The config of each replica: its own nodes (config order kept), everything else shared. */
export function replicaConfigs(config: ClusterConfig): ClusterConfig[] {
  const n = config.serving.replicas;
  if (n === 1) return [config];
  return Array.from({ length: n }, (_, r) => ({
    ...config,
    nodes: config.nodes.filter((node) => (node.replica ?? 0) === r),
    serving: { ...config.serving, replicas: 1 },
  }));
}

export const ROUTER_NOTE =
  "each replica answers on its own endpoint; put a router in front that spreads requests over them (serving.router.enabled: vLLM's own, docs/router.md)";
export const ROUTER_ENABLED_NOTE =
  "vLLM's router spreads requests over the replicas' endpoints; its endpoint is the deployment's (docs/router.md)";

/** Plan every replica. Throws ConfigError when one does not fit. */
export function planDeployment(config: ClusterConfig, warnings: readonly ConfigProblem[] = []): DeploymentPlan {
  const replicas = replicaConfigs(config).map((c) => planCluster(c, warnings));
  const endpoints = replicas.map((p) => p.cluster.endpoint);
  const enabled = config.serving.router.enabled;
  if (replicas.length === 1 && !enabled) return { replicas };
  const names = replicas[0]!.names;
  const service = enabled ? planRouterService(config, names, endpoints) : undefined;
  return {
    replicas,
    router: {
      servedName: config.model.servedName,
      endpoints,
      note: enabled ? ROUTER_ENABLED_NOTE : ROUTER_NOTE,
      ...(service ? { service, exposure: routerExposure(service) } : {}),
    },
  };
}

/** Every port of the deployment: each replica's (the router's are in the replica that holds its node). */
export function deploymentExposure(d: DeploymentPlan): PortEntry[] {
  return d.replicas.flatMap((r) => r.exposure);
}

/** Validate then plan every replica. */
export function planDeploymentFromInput(input: unknown, mode: LoadMode = "plan"): DeploymentPlan {
  const { config, warnings } = loadClusterConfig(input, mode);
  return planDeployment(config, warnings);
}
