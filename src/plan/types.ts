import type { ConfigProblem } from "../config/errors";
import type { ImageVllmPlan } from "./vllm-surface";
import type { MemoryPlan } from "./memory";
import type { ResolvedProfile } from "./profile";
import type { VariantPlan } from "./variant";
import type { KnownBadHost } from "../models/host-versions";

/** One change a component makes on a host: a script to apply it and one to undo it. */
export interface HostStep {
  /** Stable id, also the resource name suffix (`<node>-<id>`). */
  readonly id: string;
  /** What it does, for people. */
  readonly description: string;
  /** bash script (set -euo pipefail), idempotent: safe to re-run after a partial failure or a reboot. */
  readonly create: string;
  /** bash script that undoes `create`, restoring what was there before from the host's journal. */
  readonly delete: string;
  /** Ids of steps (on the same node) that must have run first. */
  readonly after: readonly string[];
}

export interface VolumeMount {
  readonly hostPath: string;
  readonly containerPath: string;
  /** Mounted read-only (`:ro`). @default false */
  readonly readOnly?: boolean;
}

/**
 * Where a container's secret variables come from: a root-only file on its host (folder 0700, file
 * 0600), written from stdin by the secrets-file step, mounted read-only; the container's command
 * is wrapped to export the variables from it just before it execs the process. Docker's container
 * config (`docker inspect`) holds only the names and the path, never a value.
 */
export interface SecretsFileSpec {
  /** Host folder, namespaced by container name (mounted read-only at `containerDir`). */
  readonly hostDir: string;
  /** Where the folder is mounted in the container. */
  readonly containerDir: string;
  /** The file's name in the folder: `NAME='value'` lines, one per `secretEnv` name. */
  readonly fileName: string;
}

/** One container, in terms both docker.Container and `docker run` can express. */
export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  /** Entrypoint override; `[]` clears the image's. */
  readonly entrypoint: readonly string[];
  /** The process: argv[0] and its arguments. */
  readonly command: readonly string[];
  readonly network: "host";
  readonly ipc: "host";
  readonly privileged: boolean;
  readonly capAdd: readonly string[];
  readonly devices: readonly string[];
  readonly shmSize?: string;
  readonly memoryLimit?: string;
  readonly pidsLimit?: number;
  readonly gpus: "all";
  /** Run an init process (reaps zombie workers). */
  readonly init: boolean;
  readonly ulimits: readonly { readonly name: string; readonly soft: number; readonly hard: number }[];
  readonly volumes: readonly VolumeMount[];
  /** Plain environment, sorted by name. */
  readonly env: Readonly<Record<string, string>>;
  /** Names of variables whose values come from secrets at deploy time (never in the plan). */
  readonly secretEnv: readonly string[];
  /** Where those values are read from (set exactly when `secretEnv` is not empty; `command` then starts with its wrapper). */
  readonly secretsFile?: SecretsFileSpec;
  /** Restart policy: always "no"; restarts belong to the coordinated watchdog. */
  readonly restart: "no";
  /** Labels identifying our containers. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface NodePlan {
  readonly name: string;
  readonly role: "head" | "worker";
  /** Torch/vLLM node rank: 0 for the head, 1.. for workers in config order. */
  readonly rank: number;
  readonly ssh: {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly auth: "key" | "agent";
    readonly hostKey?: string;
  };
  /** This node's data-plane address (first twin): VLLM_HOST_IP. */
  readonly address: string;
  readonly dataPlane: readonly {
    readonly netdev: string;
    readonly hca: string;
    readonly address: string;
    readonly prefix: number;
  }[];
  /** Host folders for the caches. */
  readonly cache: {
    readonly root: string;
    readonly huggingface: string;
    readonly vllm: string;
    readonly flashinfer: string;
    readonly triton: string;
  };
  /** The complete environment of the vLLM process on this node (sorted; secrets by name only in secretEnv). */
  readonly env: Readonly<Record<string, string>>;
  /** Variables set from secrets at deploy time (values never in the plan). */
  readonly secretEnv: readonly string[];
  /** The part of `env` derived from this node's end of the link (NCCL/UCX/socket interfaces, master), sorted: RoceLink's output. */
  readonly linkEnv: Readonly<Record<string, string>>;
  /** Full argv of the process that runs vLLM on this node (`ray start ... --block` on a Ray worker). */
  readonly serveArgv: readonly string[];
  /** Ray launcher only: the `ray start` argv run before `vllm serve` on the head. */
  readonly rayStartArgv?: readonly string[];
  /** Paste-ready shell line: `env K=V ... <serveArgv>` (inside the container). */
  readonly serveCommandLine: string;
  readonly container: ContainerSpec;
  /** Paste-ready `docker run` line equivalent to `container` (secret variables from the mounted secrets file). */
  readonly dockerRun: string;
  /** Host preparation and hardening, in order. */
  readonly hostSteps: readonly HostStep[];
  /** Data-plane address, MTU, persistence and GID checks for this end, in order. */
  readonly linkSteps: readonly HostStep[];
}

export interface LinkTwinPlan {
  readonly index: number;
  readonly subnet: string;
  readonly ends: readonly {
    readonly node: string;
    readonly netdev: string;
    readonly hca: string;
    readonly address: string;
    readonly prefix: number;
  }[];
}

export interface LinkCheck {
  readonly from: string;
  readonly to: string;
  readonly twin: number;
  readonly netdev: string;
  readonly target: string;
  /** ICMP payload with the don't-fragment bit: MTU - 28 (IPv4 + ICMP headers). */
  readonly payloadBytes: number;
  /** The exact check run on `from`. */
  readonly script: string;
}

export interface LinkPlan {
  readonly mtu: number;
  readonly gidPolicy: "auto" | "resolve" | { readonly index: number };
  readonly masterAddr: string;
  readonly masterPort: number;
  readonly twins: readonly LinkTwinPlan[];
  /** Don't-fragment pings over every twin, both directions. */
  readonly checks: readonly LinkCheck[];
}

export interface ImageBuildPlan {
  readonly source: "build";
  readonly tag: string;
  /** Built on this node, for linux/arm64. */
  readonly buildNode: string;
  readonly platform: "linux/arm64";
  /** Build context and Dockerfile inside this package. */
  readonly context: string;
  readonly dockerfile: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** How other nodes get the image: streamed `docker save | docker load` over SSH. */
  readonly distribute: "save-load";
}

export interface ImagePrebuiltPlan {
  readonly source: "prebuilt";
  readonly tag: string;
  readonly distribute: "pull";
  /** The image preset it came from (image.source: preset). */
  readonly preset?: string;
  /** Whether a preset is pinned by digest (false: a moving tag). */
  readonly pinned?: boolean;
}

export type ImagePlan = (ImageBuildPlan | ImagePrebuiltPlan) & {
  /** Every node must report this image with the same image ID. */
  readonly nodes: readonly string[];
  /** The vLLM inside (a release or a ref) and the surface the serve argv and env were checked against (src/plan/vllm-surface.ts). */
  readonly vllm: ImageVllmPlan;
};

/** What a cluster is called on its hosts (src/plan/names.ts). */
export interface HostNames {
  /** The instance name, or null: the plain names (one cluster per host). */
  readonly instance: string | null;
  /** Every container, unit and file name of this cluster starts with it: `dgx-spark-vllm[-<instance>]`. */
  readonly prefix: string;
  /** How this cluster is listed among the holders of a shared host setting. */
  readonly holder: string;
  /** This cluster's own undo journal (its units, scripts, the watchdog). */
  readonly journal: string;
  /** The host-wide journal of shared settings (swap, vm.min_free_kbytes, netdevs, caches, image tag), with their holders. */
  readonly sharedJournal: string;
  /** State folder (the journal, the watchdog's state). */
  readonly stateDir: string;
  /** Where its scripts are installed. */
  readonly libDir: string;
  /** Its configuration folder (the UMA monitor's webhook). */
  readonly configDir: string;
  readonly linkUnit: string;
  readonly monitorUnit: string;
  readonly watchdogUnit: string;
  /** The watchdog's operator command. */
  readonly watchdogBin: string;
}

/** Everything the components will do, computed without I/O. `plan --json` prints it. */
/** One listening port of a deployment on one node (src/plan/exposure.ts, docs/exposure.md). */
export interface PortEntry {
  readonly node: string;
  /** TCP port, or "ephemeral" for sockets on free ports the process picks. */
  readonly port: number | "ephemeral";
  readonly process: string;
  /** The address it listens on: 0.0.0.0 (every interface), 127.0.0.1, or one address of the node. */
  readonly bind: string;
  /** Who needs to reach it. */
  readonly reach: string;
  /** What stops anyone else. */
  readonly guard: string;
  /** false: on the host already (sshd); the deployment only uses it. */
  readonly managed: boolean;
  /** The config path of the port, when it is a setting. */
  readonly setting?: string;
}

export interface ClusterPlan {
  readonly schemaVersion: 1;
  /** What this cluster is called on its hosts: containers, units, scripts, journals. */
  readonly names: HostNames;
  readonly cluster: {
    readonly nodeCount: number;
    readonly head: string;
    readonly launcher: "mp" | "ray";
    readonly tensorParallelSize: number;
    readonly pipelineParallelSize: number;
    readonly gpuMemoryUtilization: number;
    readonly mtp: boolean;
    readonly port: number;
    /** Where the OpenAI-compatible API answers (the head's management host). */
    readonly endpoint: string;
    readonly authenticated: boolean;
    /** Node names in start order: workers first, head last. */
    readonly startOrder: readonly string[];
  };
  readonly profile: ResolvedProfile;
  readonly model: {
    readonly id: string;
    readonly servedName: string;
    readonly prefetch: boolean;
    /** How the weights reach the nodes (src/plan/weights.ts). */
    readonly delivery: "each" | "head-then-copy" | "local";
    /** The pinned hub revision, when given (a commit hash, or a branch name that was warned about). */
    readonly revision?: string;
    /** delivery `local`: the model's folder on every node. */
    readonly localPath?: string;
    /** HF_ENDPOINT of the download, when not the default hub. */
    readonly hubEndpoint?: string;
  };
  /** The model variant: speculative decoding, backends, KV dtype and bytes per token, image capabilities, sources. */
  readonly variant: VariantPlan;
  readonly link: LinkPlan;
  readonly image: ImagePlan;
  readonly hardening: {
    readonly minFreeKbytes: number;
    readonly swapOff: boolean;
    readonly dropCachesDuringLoad: boolean;
    readonly umaAlertThresholdGb: number;
    readonly webhook: "set" | "not set";
    /** Known-bad host versions preflight and doctor check, each with whether the config acknowledges it. */
    readonly knownBad: readonly (KnownBadHost & { readonly acknowledged: boolean })[];
  };
  /** How each secret is set: `[secret]` or `not set`. Never a value. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly nodes: readonly NodePlan[];
  /** The UMA budget of every node (src/plan/memory.ts). */
  readonly memory: MemoryPlan;
  /** The coordinated watchdog on the head (src/plan/watchdog.ts): timing, restart order, free-memory floor. */
  readonly watchdog: WatchdogPlan;
  /** Prometheus, Alertmanager, Grafana and node exporters (src/plan/observability.ts), or `{ enabled: false }`. */
  readonly observability: ObservabilityConfigPlan;
  /** serving.router.enabled and the router runs on one of this cluster's nodes: what doctor and Prometheus read of it. */
  readonly router?: RouterOnCluster;
  /** Config and memory warnings, shown by `plan` and as Pulumi warnings during preview. */
  readonly warnings: readonly ConfigProblem[];
  /** Informational notes, not warnings: an unpinned default the recipe gives no pin for, a profile's trade-off. */
  readonly notes: readonly ConfigProblem[];
  /** Every port the cluster opens on each node, who needs it and what guards it (src/plan/exposure.ts). */
  readonly exposure: readonly PortEntry[];
}

/** vLLM's router on a node of this cluster (serving.router, src/plan/router.ts): where it answers. */
export interface RouterOnCluster {
  readonly node: string;
  /** The node's management host: Prometheus scrapes the metrics listener there. */
  readonly host: string;
  /** Its systemd unit (without `.service`). */
  readonly unit: string;
  readonly policy: string;
  /** Its API (every route needs the cluster's key when the cluster has one). */
  readonly port: number;
  /** Its Prometheus listener (vllm_router_*, no key). */
  readonly metricsPort: number;
}

/** The coordinated watchdog on the head: timing, restart order, free-memory floor (src/plan/watchdog.ts). */
export interface WatchdogPlan {
  readonly enabled: boolean;
  readonly unit: string;
  readonly script: string;
  /** The operator's command (`pause`, `resume`, `status`, and `hold`/`unhold` that `pulumi up` uses). */
  readonly bin: string;
  readonly stateDir: string;
  /** The head's SSH user: the service runs as it (docker group, passwordless SSH to the workers). */
  readonly runAs: string;
  readonly probeIntervalSeconds: number;
  readonly probeTimeoutSeconds: number;
  readonly failuresBeforeRestart: number;
  readonly bootTimeoutSeconds: number;
  readonly minRestartIntervalSeconds: number;
  readonly maxBackoffSeconds: number;
  readonly maxRestartsPerHour: number;
  readonly stopTimeoutSeconds: number;
  /** Node names in the order the ranks are started on a restart (mp: workers first, head last; Ray: head first). */
  readonly restartOrder: readonly string[];
  /** Node names in the order the ranks are stopped (the reverse). */
  readonly stopOrder: readonly string[];
  /** MemAvailable (GiB) each node needs before the engine is started again. */
  readonly minFreeGiB: Readonly<Record<string, number>>;
  readonly signatures: readonly string[];
}

// ---- observability (src/plan/observability.ts) ----

export interface ObsContainer {
  readonly name: string;
  readonly image: string;
  readonly port: number;
  /** The address it listens on (host network): 127.0.0.1, the node's management address, or 0.0.0.0 (every interface). */
  readonly bind: string;
  /** The process's arguments after the image's entrypoint. */
  readonly command: readonly string[];
  /** host path -> container path (`:ro` when read-only). */
  readonly mounts: readonly {
    readonly source: string;
    readonly target: string;
    readonly readOnly: boolean;
    readonly volume?: boolean;
  }[];
  readonly env: Readonly<Record<string, string>>;
  readonly user?: string;
}

export interface ObservabilityPlan {
  readonly enabled: true;
  readonly head: string;
  readonly prometheus: ObsContainer & { readonly retention: string; readonly url: string };
  readonly alertmanager: ObsContainer;
  readonly grafana: ObsContainer & { readonly url: string; readonly adminUser: "admin" };
  /** One node exporter per node, named by node. */
  readonly nodeExporters: Readonly<Record<string, ObsContainer>>;
  /** Named data volumes on the head (kept on destroy only with keepDataOnDestroy). */
  readonly volumes: readonly string[];
  readonly keepDataOnDestroy: boolean;
  /** Rendered config files on the head, by path. No secret is in any of them. */
  readonly files: Readonly<Record<string, string>>;
  /** Files the deploy step writes from stdin (secrets), by path: what each holds. */
  readonly secretFiles: Readonly<Record<string, string>>;
  readonly alerts: readonly AlertRule[];
  readonly panels: readonly DashboardPanel[];
  readonly metricsFile: string;
  /** What each node's UMA monitor writes for the textfile collector, by node. */
  readonly nodeMetrics: Readonly<Record<string, NodeMetricsSpec>>;
}

export type ObservabilityConfigPlan = ObservabilityPlan | { readonly enabled: false };

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly severity: "warning" | "critical";
  readonly summary: string;
}

export interface DashboardPanel {
  readonly title: string;
  readonly unit: string;
  readonly targets: readonly { readonly expr: string; readonly legend: string }[];
  /** A constant line drawn on the panel (e.g. the UMA threshold), as a target too. */
  readonly description: string;
}

/** What the UMA monitor needs to write our node metrics on one node. */
export interface NodeMetricsSpec {
  readonly file: string;
  readonly mtu: number;
  readonly ports: readonly {
    readonly netdev: string;
    readonly hca: string;
    readonly address: string;
    readonly gid: string;
  }[];
  /** On the head, with the watchdog on: its state folder and cap. */
  readonly watchdog?: { readonly dir: string; readonly maxRestartsPerHour: number };
  readonly container: string;
  /** The drop-caches sidecar's name (none when dropCachesDuringLoad is off). */
  readonly sidecar?: string;
}
