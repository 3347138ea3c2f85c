import type { ConfigProblem } from "../config/errors";
import type { MemoryPlan } from "./memory";
import type { ResolvedProfile } from "./profile";

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
  /** Paste-ready `docker run` line equivalent to `container` (secret variables passed by name). */
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
}

export type ImagePlan = (ImageBuildPlan | ImagePrebuiltPlan) & {
  /** Every node must report this image with the same image ID. */
  readonly nodes: readonly string[];
};

/** Everything the components will do, computed without I/O. `plan --json` prints it. */
export interface ClusterPlan {
  readonly schemaVersion: 1;
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
  readonly link: LinkPlan;
  readonly image: ImagePlan;
  readonly hardening: {
    readonly minFreeKbytes: number;
    readonly swapOff: boolean;
    readonly dropCachesDuringLoad: boolean;
    readonly umaAlertThresholdGb: number;
    readonly webhook: "set" | "not set";
  };
  /** How each secret is set: `[secret]` or `not set`. Never a value. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly nodes: readonly NodePlan[];
  /** The UMA budget of every node (src/plan/memory.ts). */
  readonly memory: MemoryPlan;
  /** The coordinated watchdog on the head (src/plan/watchdog.ts): timing, restart order, free-memory floor. */
  readonly watchdog: WatchdogPlan;
  /** Config and memory warnings, shown by `plan` and as Pulumi warnings during preview. */
  readonly warnings: readonly ConfigProblem[];
  /** Informational notes, not warnings: an unpinned default the recipe gives no pin for, a profile's trade-off. */
  readonly notes: readonly ConfigProblem[];
}

/** The coordinated watchdog on the head: timing, restart order, free-memory floor (src/plan/watchdog.ts). */
export interface WatchdogPlan {
  readonly enabled: boolean;
  readonly unit: string;
  readonly script: string;
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
