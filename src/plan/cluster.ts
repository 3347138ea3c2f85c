/**
 * planCluster: the single source of truth. From a validated config to everything every node will
 * run or be configured with. No Pulumi, no I/O, no clock, no randomness.
 */
import { configNotes, loadClusterConfig, secretSummary, type LoadMode } from "../config/load";
import { ConfigError, type ConfigProblem } from "../config/errors";
import type { ClusterConfig, NodeConfig } from "../config/schema";
import type { ModelSpec } from "../models/deepseek-v4-flash";
import { variantSpec } from "../config/variant";
import { gb10 } from "../models/gb10";
import { shellAssignments, shellJoin } from "../shell/quote";
import { cacheFolders, containerSpec, dockerRunLine } from "./container";
import { linkEnv, nodeEnv, nodeSecretEnv, sortedEnv } from "./env";
import { clusterExposure } from "./exposure";
import { hostSteps } from "./host";
import { imagePlan } from "./image";
import { nodeLaunch } from "./launch";
import { linkPlan, linkSteps } from "./link";
import { planMemory } from "./memory";
import { hostNames } from "./names";
import { resolveProfile } from "./profile";
import type { ClusterPlan, NodePlan } from "./types";
import { observabilityImageWarnings, observabilityPlan } from "./observability";
import { watchdogPlan } from "./watchdog";
import { routerOnCluster } from "./router";
import { imageWarnings, knownBadPlan, variantPlan } from "./variant";
import { checkAgainstVllm } from "./vllm-surface";

/** The model geometry and serving facts of the config's variant, with its id and served name. */
export function modelSpecFor(config: ClusterConfig): ModelSpec {
  return variantSpec(config.model);
}

export interface PlanOptions {
  /**
   * Put this name into every container, systemd unit, script, state and journal name on the
   * hosts, so two clusters on one Spark do not clash (src/plan/names.ts). DeepSeekV4Cluster
   * passes its component name. 1-31 lower-case letters, digits and '-'.
   * @default none: the plain names (`dgx-spark-vllm-<node>`, `dgx-spark-vllm-watchdog`, ...)
   */
  readonly instance?: string;
}

/**
 * Plan a validated config. Throws ConfigError when the memory planner finds it cannot fit (the
 * start check fails, or the KV pool cannot hold one full-context request), or when the instance
 * name cannot name things on a host.
 */
export function planCluster(
  config: ClusterConfig,
  warnings: readonly ConfigProblem[] = [],
  options: PlanOptions = {},
): ClusterPlan {
  const names = clusterNames(config, options);
  const profile = resolveProfile(config.serving);
  const model = modelSpecFor(config);
  const head = config.nodes.find((n) => n.role === "head") as NodeConfig;
  const s = config.serving;
  const tp = s.tensorParallelSize ?? config.nodes.length / s.pipelineParallelSize;
  const variant = variantPlan(config, model, profile);
  const memory = planMemory(
    config,
    profile,
    variant.geometry,
    (i) => ({ ...gb10, ...(config.nodes[i]?.memory ?? {}) }),
    model.id,
    tp,
  );
  if (memory.errors.length > 0) throw new ConfigError(memory.errors);
  const image = imagePlan(config, head.name);
  const imageFindings = imageWarnings(config);

  // Ranks: head 0, workers 1.. in config order.
  const workers = config.nodes.filter((n) => n !== head);
  const ranked: [NodeConfig, number][] = [[head, 0], ...workers.map((w, i): [NodeConfig, number] => [w, i + 1])];
  const rankOf = new Map(ranked.map(([n, r]) => [n.name, r]));
  const ctx: NodeCtx = { config, profile, model, tp, head, imageTag: image.tag, names };
  const nodes = config.nodes.map((node) => nodePlan(ctx, node, rankOf.get(node.name) as number));

  // The serve argv and VLLM_* env against the vLLM the image carries (nothing checked for a ref).
  const surface = checkAgainstVllm(
    config,
    model,
    nodes.map((n) => ({ serveArgv: n.serveArgv, envNames: [...Object.keys(n.env), ...n.secretEnv] })),
  );
  if (surface.errors.length > 0) throw new ConfigError(surface.errors);

  const startOrder = [...workers.map((w) => w.name), head.name];
  const watchdog = watchdogPlan(config, memory, names);
  const router = routerOnCluster(config, nodes, names);
  const base: Omit<ClusterPlan, "exposure"> = {
    schemaVersion: 1,
    names,
    cluster: clusterSummary(config, head, tp, variant.plan, startOrder),
    profile,
    model: modelSummary(config),
    variant: variant.plan,
    link: linkPlan(config, head),
    image,
    hardening: hardeningSummary(config),
    secrets: secretSummary(config),
    nodes,
    memory,
    watchdog: watchdog.plan,
    observability: observabilityPlan(
      config,
      nodes,
      head.name,
      watchdog.plan.enabled,
      variant.plan.speculative.method !== "off",
    ),
    ...(router ? { router } : {}),
    warnings: [
      ...warnings,
      ...imageFindings.warnings,
      ...surface.warnings,
      ...memory.warnings,
      ...watchdog.warnings,
      ...observabilityImageWarnings(config),
    ],
    notes: [...configNotes(config), ...imageFindings.notes, ...surface.notes, ...variant.notes, ...memory.notes],
  };
  return { ...base, exposure: clusterExposure(base) };
}

/** The cluster's names on its hosts; a config of several replicas, or a bad instance name, is refused. */
function clusterNames(config: ClusterConfig, options: PlanOptions): ReturnType<typeof hostNames> {
  if (config.serving.replicas > 1)
    throw new ConfigError([
      {
        path: "serving.replicas",
        message:
          `is ${config.serving.replicas}: each replica is its own cluster` +
          `; plan them with planDeployment (the plan command and the Pulumi program do)` +
          `, and run doctor, repair, bench and gate on one replica at a time` +
          ` (a config with that replica's nodes and replicas: 1)`,
      },
    ]);
  try {
    return hostNames(options.instance);
  } catch (e) {
    throw new ConfigError([{ path: "instance", message: (e as Error).message }]);
  }
}

/** What every node's plan is cut from. */
interface NodeCtx {
  readonly config: ClusterConfig;
  readonly profile: ReturnType<typeof resolveProfile>;
  readonly model: ReturnType<typeof modelSpecFor>;
  readonly tp: number;
  readonly head: NodeConfig;
  readonly imageTag: string;
  readonly names: ReturnType<typeof hostNames>;
}

/** One node: its SSH access, data plane, caches, environment, launch, container, host and link steps. */
function nodePlan(ctx: NodeCtx, node: NodeConfig, rank: number): NodePlan {
  const { config, profile, model, tp, head, names } = ctx;
  const user = (node.ssh.user ?? config.ssh.user) as string;
  const cache = cacheFolders(node, user, config.model.hfCachePath);
  const env = nodeEnv({ config, node, head, profile, model });
  const secretEnv = nodeSecretEnv(config, node);
  const launch = nodeLaunch({ config, profile, model, tensorParallelSize: tp }, node, rank, head, config.nodes.length);
  const container = containerSpec({
    config,
    node,
    rank,
    image: ctx.imageTag,
    command: launch.containerCommand,
    env,
    secretEnv,
    cache,
    names,
  });
  const useAgent = node.ssh.privateKey ? false : (node.ssh.useAgent ?? config.ssh.useAgent ?? false);
  return {
    name: node.name,
    role: node.role,
    rank,
    ssh: {
      host: node.ssh.host,
      port: node.ssh.port ?? config.ssh.port ?? 22,
      user,
      auth: useAgent ? "agent" : "key",
      ...(node.ssh.hostKey ? { hostKey: node.ssh.hostKey } : {}),
    },
    address: (node.dataPlane[0] as { address: string }).address,
    dataPlane: node.dataPlane.map((p) => ({ netdev: p.netdev, hca: p.hca, address: p.address, prefix: p.prefix })),
    cache,
    env,
    secretEnv,
    linkEnv: sortedEnv(linkEnv(node, head, config)),
    serveArgv: launch.serveArgv,
    ...(launch.rayStartArgv ? { rayStartArgv: launch.rayStartArgv } : {}),
    serveCommandLine: ["env", ...shellAssignments(env), shellJoin(launch.serveArgv)].join(" "),
    container,
    dockerRun: dockerRunLine(container),
    hostSteps: hostSteps(config, cache, names),
    linkSteps: linkSteps(config, node, names),
  };
}

/** The cluster as a whole: size, head, launcher, parallelism, endpoint, start order. */
function clusterSummary(
  config: ClusterConfig,
  head: NodeConfig,
  tp: number,
  variant: ReturnType<typeof variantPlan>["plan"],
  startOrder: string[],
): ClusterPlan["cluster"] {
  const s = config.serving;
  return {
    nodeCount: config.nodes.length,
    head: head.name,
    launcher: s.launcher,
    tensorParallelSize: tp,
    pipelineParallelSize: s.pipelineParallelSize,
    gpuMemoryUtilization: s.gpuMemoryUtilization,
    mtp: variant.speculative.method === "mtp",
    port: s.port,
    endpoint: `http://${head.ssh.host.includes(":") ? `[${head.ssh.host}]` : head.ssh.host}:${s.port}/v1`,
    authenticated: !s.allowUnauthenticated,
    startOrder,
  };
}

/** The model: its id, served name, delivery and where it comes from. */
function modelSummary(config: ClusterConfig): ClusterPlan["model"] {
  return {
    id: config.model.id,
    servedName: config.model.servedName,
    prefetch: config.model.prefetch,
    delivery: config.model.delivery ?? (config.nodes.length >= 2 ? "head-then-copy" : "each"),
    ...(config.model.revision !== undefined ? { revision: config.model.revision } : {}),
    ...(config.model.localPath !== undefined ? { localPath: config.model.localPath } : {}),
    ...(config.model.hubEndpoint !== undefined ? { hubEndpoint: config.model.hubEndpoint } : {}),
  };
}

/** The host hardening the plan applies, and the known-bad host versions. */
function hardeningSummary(config: ClusterConfig): ClusterPlan["hardening"] {
  return {
    minFreeKbytes: config.hardening.minFreeKbytes,
    swapOff: config.hardening.swapOff,
    dropCachesDuringLoad: config.hardening.dropCachesDuringLoad,
    umaAlertThresholdGb: config.hardening.umaAlertThresholdGb,
    webhook: config.hardening.webhookUrl ? "set" : "not set",
    knownBad: knownBadPlan(config),
  };
}

/** Validate then plan, in one call. Throws ConfigError listing every problem. */
export function planFromInput(input: unknown, mode: LoadMode = "plan"): ClusterPlan {
  const { config, warnings } = loadClusterConfig(input, mode);
  return planCluster(config, warnings);
}
