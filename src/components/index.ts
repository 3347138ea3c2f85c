/** The Pulumi components: render a ClusterPlan into resources. */
export { SparkNode, type SparkNodeArgs } from "./spark-node";
export { RoceLink, type RoceLinkArgs } from "./roce-link";
export { VllmImage, type VllmImageArgs, checkSameImageId } from "./vllm-image";
export { VllmService, type VllmServiceArgs, containerArgs } from "./vllm-service";
export { DeepSeekV4Cluster, type DeepSeekV4ClusterArgs } from "./cluster";
export { DeepSeekV4Replicas, type DeepSeekV4ReplicasArgs } from "./replicas";
