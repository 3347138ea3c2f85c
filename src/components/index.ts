/** The Pulumi components: each takes its own typed slice; `X.fromPlan(plan, ...)` gives it from a ClusterPlan. */
export {
  SparkNode,
  type SparkNodeArgs,
  type SparkNodeConnection,
  type SparkNodeMonitor,
  type SparkNodeFromPlan,
  hardeningSteps,
} from "./spark-node";
export { RoceLink, type RoceLinkArgs, type RoceLinkEnd, type RoceLinkCheck, type RoceLinkFromPlan } from "./roce-link";
export {
  VllmImage,
  type VllmImageArgs,
  type VllmImageNode,
  type VllmImageBuild,
  type VllmImageFromPlan,
  checkSameImageId,
} from "./vllm-image";
export {
  VllmService,
  type VllmServiceArgs,
  type VllmRank,
  type VllmServiceImage,
  type VllmServiceFromPlan,
  containerArgs,
  SECRETS_LABEL,
} from "./vllm-service";
export { DeepSeekV4Cluster, type DeepSeekV4ClusterArgs } from "./cluster";
export { type SparkNodeAccess, warningOwner, type WarningOwner } from "./common";
export type { NodeCheck } from "../plan/service";
export { Observability, type ObservabilityArgs, obsContainerArgs } from "./observability";
export { DeepSeekV4Replicas, type DeepSeekV4ReplicasArgs } from "./replicas";
export { VllmRouter, type VllmRouterArgs } from "./vllm-router";
