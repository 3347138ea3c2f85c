export * from "./types";
export { planCluster, planFromInput, modelSpecFor, type PlanOptions } from "./cluster";
export { hostNames, DEFAULT_NAMES, SHARED_JOURNAL_DIR, INSTANCE_PATTERN } from "./names";
export { resolveProfile, type ResolvedProfile } from "./profile";
export { UCX_LEAK_FIX, LONG_CONTEXT_ENV, RAY_ENV } from "./env";
export {
  dockerRunArgv,
  dockerRunLine,
  vllmContainerName,
  CONTAINER_CACHE,
  OWNER_LABEL,
  INSTANCE_LABEL,
} from "./container";
export { NETPLAN_FILE } from "./link";
export { SYSCTL_FILE, FSTAB_MARK } from "./host";
export { gidResolverScript } from "./launch";
export {
  secretsFileSpec,
  secretsFileStep,
  secretsFileStdin,
  withSecretsFile,
  withoutSecretsFile,
  SECRETS_ROOT,
  SECRETS_CONTAINER_DIR,
} from "./secrets-file";
export {
  planMemory,
  nodeBudget,
  MEMORY_ESTIMATE_MARGIN_GIB,
  type MemoryPlan,
  type NodeMemoryBudget,
  type MemoryInputs,
} from "./memory";
export {
  watchdogPlan,
  watchdogScript,
  watchdogStep,
  watchdogUnit,
  watchdogHoldStep,
  watchdogUnholdScript,
  HOLD_MARGIN_S,
  WATCHDOG_UNIT,
  WATCHDOG_BIN,
  WATCHDOG_SCRIPT,
  WATCHDOG_STATE_DIR,
  LOST_RANK_SIGNATURES,
  type WatchdogPlan,
} from "./watchdog";
export { accessFunction, peerSshOptions, sshAccess, localAccess, withAccess, type NodeAccess } from "./access";
export {
  observabilityPlan,
  observabilityConfigStep,
  nodeMetricsSpec,
  METRICS_FILE,
  OBS_CONTAINERS,
  OBS_FILES,
  OBS_VOLUMES,
} from "./observability";
export {
  planDeployment,
  planDeploymentFromInput,
  replicaConfigs,
  type DeploymentPlan,
  type RouterPlan,
} from "./replicas";
export { variantPlan, type VariantPlan } from "./variant";
export {
  planRouterService,
  ROUTER_HEALTH,
  ROUTER_LAUNCHER,
  routerArgs,
  type RouterServicePlan,
  VLLM_ROUTER_VERSION,
} from "./router";
