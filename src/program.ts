/**
 * The Pulumi program Pulumi.yaml runs (`main: dist/src/program.js`): read the stack config
 * (namespace `dgx-spark-vllm`), validate it for deployment, build the cluster, export the
 * endpoint and a plan summary without secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import { DeepSeekV4Cluster } from "./components/cluster";
import { DeepSeekV4Replicas } from "./components/replicas";
import { clusterInputFromPulumiConfig } from "./components/stack-config";
import { ConfigError, type ConfigProblem } from "./config/errors";
import { CONFIG_NAMESPACE, clusterInputFromStackConfig, type LoadedConfig, loadClusterConfig } from "./config/load";

export { clusterInputFromPulumiConfig };

/** `dgx-spark-vllm:<key>` entries of the stack that are no setting (a typo would otherwise be ignored). */
export function unknownConfigKeys(all: Readonly<Record<string, string>> = pulumi.runtime.allConfig()): ConfigProblem[] {
  const ours = Object.keys(all).filter((k) => k.startsWith(`${CONFIG_NAMESPACE}:`));
  try {
    clusterInputFromStackConfig(Object.fromEntries(ours.map((k) => [k, null])));
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
}

/**
 * The validated config, or a `pulumi.RunError` listing every problem: Pulumi prints a RunError's
 * message alone, without a stack trace, and nothing is created.
 */
export function loadForDeploy(): LoadedConfig {
  const problems = unknownConfigKeys();
  try {
    const loaded = loadClusterConfig(clusterInputFromPulumiConfig(), "deploy");
    if (problems.length === 0) return loaded;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  throw new pulumi.RunError(new ConfigError(problems).message);
}

const { config, warnings } = loadForDeploy();
// serving.replicas > 1: one cluster per replica (dsv4-r0, dsv4-r1, ...), each with its own endpoint;
// the single-cluster outputs below describe replica 0. The stack's clusters keep the plain names
// (each replica is on its own nodes), which `plan`, `doctor` and `repair` read.
const set =
  config.serving.replicas > 1 || config.serving.router.enabled
    ? new DeepSeekV4Replicas("dsv4", { config, warnings, instance: null })
    : undefined;
const cluster = set
  ? (set.replicas[0] as DeepSeekV4Cluster)
  : new DeepSeekV4Cluster("dsv4", { config, warnings, instance: null });
const p = cluster.plan;

/** Every replica's endpoint (one entry without serving.replicas); put a router in front of several. */
export const endpoints = set ? set.endpoints : cluster.endpoint.apply((e) => [e]);

/** The deployment's endpoint: vLLM's router with serving.router.enabled, else replica 0's. */
export const endpoint = set ? set.endpoint : cluster.endpoint;
/** With serving.router.enabled: the router's Prometheus metrics. */
export const routerMetricsUrl = set?.router?.metricsUrl;
export const servedModelName = cluster.servedModelName;
export const maxModelLen = cluster.maxModelLen;
export const imageId = cluster.imageId;
/** With observability.enabled: Grafana (the dashboard) and Prometheus on the head. */
export const grafanaUrl = cluster.observability?.grafanaUrl;
export const prometheusUrl = cluster.observability?.prometheusUrl;
/** What was deployed, from the plan (no secret values: secrets show as `[secret]`). */
export const planSummary = {
  profile: p.profile.name,
  maxModelLen: p.profile.maxModelLen,
  maxNumSeqs: p.profile.maxNumSeqs,
  gpuMemoryUtilization: p.cluster.gpuMemoryUtilization,
  launcher: p.cluster.launcher,
  head: p.cluster.head,
  startOrder: p.cluster.startOrder,
  image: p.image.tag,
  imageSource: p.image.source,
  linkMtu: p.link.mtu,
  gidPolicy: p.link.gidPolicy,
  authenticated: p.cluster.authenticated,
  secrets: p.secrets,
  warnings: p.warnings.map((w) => `${w.path} ${w.message}`),
};
