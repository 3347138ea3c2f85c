/**
 * The container each node runs (RECIPE.md "Launch") and its equivalent `docker run` line, both
 * from one ContainerSpec so they cannot diverge.
 */
import type { ClusterConfig, NodeConfig } from "../config/schema";
import { shellJoin } from "../shell/quote";
import { containerName, DEFAULT_NAMES } from "./names";
import { secretsFileSpec, withSecretsFile } from "./secrets-file";
import type { ContainerSpec, HostNames, NodePlan } from "./types";

/** Where the caches live inside the container (the image runs as root). */
export const CONTAINER_CACHE = {
  huggingface: "/root/.cache/huggingface",
  vllm: "/root/.cache/vllm",
  flashinfer: "/root/.cache/flashinfer",
  triton: "/root/.triton",
} as const;

/** Label put on every container the library owns. */
export const OWNER_LABEL = "dgx-spark-vllm.managed";
/** Label naming the cluster's instance (only when it has one: src/plan/names.ts). */
export const INSTANCE_LABEL = "dgx-spark-vllm.instance";

/** Default cache root: the SSH user's ~/.cache, as the recipe mounts it. */
export function cacheFolders(node: NodeConfig, user: string, hfCachePath: string | undefined): NodePlan["cache"] {
  const root = node.cacheRoot ?? (user === "root" ? "/root/.cache" : `/home/${user}/.cache`);
  return {
    root,
    huggingface: hfCachePath ?? `${root}/huggingface`,
    vllm: `${root}/vllm`,
    flashinfer: `${root}/flashinfer`,
    triton: `${root}/triton`,
  };
}

export function vllmContainerName(node: string, names: HostNames = DEFAULT_NAMES): string {
  return containerName(names, node);
}

export interface ContainerInputs {
  readonly config: ClusterConfig;
  readonly node: NodeConfig;
  readonly rank: number;
  readonly image: string;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly secretEnv: readonly string[];
  readonly cache: NodePlan["cache"];
  /** What the cluster is called on its hosts. @default the plain names */
  readonly names?: HostNames;
}

/**
 * A node's container. With secret variables, their values come from a root-only file on the host
 * (src/plan/secrets-file.ts), mounted read-only, and the command is wrapped to export them: docker's
 * container config holds their names and the file's path, never a value.
 */
export function containerSpec(i: ContainerInputs): ContainerSpec {
  const s = i.config.serving;
  const np = s.nonPrivileged;
  const name = vllmContainerName(i.node.name, i.names);
  const secrets = i.secretEnv.length > 0 ? secretsFileSpec(name) : undefined;
  return {
    name,
    image: i.image,
    entrypoint: [],
    command: secrets ? withSecretsFile(secrets, i.command) : [...i.command],
    network: "host",
    ipc: "host",
    privileged: s.privileged,
    capAdd: s.privileged ? [] : ["IPC_LOCK"],
    devices: s.privileged ? [] : ["/dev/infiniband"],
    ...(s.privileged
      ? {}
      : { shmSize: np.shmSize, pidsLimit: np.pidsLimit, ...(np.memoryLimit ? { memoryLimit: np.memoryLimit } : {}) }),
    gpus: "all",
    init: true,
    ulimits: [{ name: "nofile", soft: 1048576, hard: 1048576 }],
    volumes: [
      { hostPath: i.cache.huggingface, containerPath: CONTAINER_CACHE.huggingface },
      { hostPath: i.cache.vllm, containerPath: CONTAINER_CACHE.vllm },
      { hostPath: i.cache.flashinfer, containerPath: CONTAINER_CACHE.flashinfer },
      { hostPath: i.cache.triton, containerPath: CONTAINER_CACHE.triton },
      // delivery local: the model's folder at the same path inside.
      ...(i.config.model.delivery === "local" && i.config.model.localPath !== undefined
        ? [{ hostPath: i.config.model.localPath, containerPath: i.config.model.localPath }]
        : []),
      ...(secrets ? [{ hostPath: secrets.hostDir, containerPath: secrets.containerDir, readOnly: true }] : []),
    ],
    env: i.env,
    secretEnv: [...i.secretEnv],
    ...(secrets ? { secretsFile: secrets } : {}),
    restart: "no",
    labels: {
      [OWNER_LABEL]: "true",
      ...(i.names?.instance ? { [INSTANCE_LABEL]: i.names.instance } : {}),
      "dgx-spark-vllm.node": i.node.name,
      "dgx-spark-vllm.rank": String(i.rank),
    },
  };
}

/** The `docker run` argv equivalent to a ContainerSpec. Secret variables come from the mounted secrets file, never `-e`. */
export function dockerRunArgv(c: ContainerSpec): string[] {
  return [
    "docker",
    "run",
    "-d",
    "--name",
    c.name,
    "--gpus",
    c.gpus,
    "--network",
    c.network,
    "--ipc",
    c.ipc,
    ...(c.privileged ? ["--privileged"] : []),
    ...c.capAdd.flatMap((cap) => ["--cap-add", cap]),
    ...c.devices.flatMap((d) => ["--device", d]),
    ...(c.shmSize ? ["--shm-size", c.shmSize] : []),
    ...(c.memoryLimit ? ["--memory", c.memoryLimit] : []),
    ...(c.pidsLimit !== undefined ? ["--pids-limit", String(c.pidsLimit)] : []),
    ...(c.init ? ["--init"] : []),
    ...c.ulimits.flatMap((u) => ["--ulimit", `${u.name}=${u.soft}:${u.hard}`]),
    "--restart",
    c.restart,
    ...Object.entries(c.labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    ...c.volumes.flatMap((v) => ["-v", `${v.hostPath}:${v.containerPath}${v.readOnly ? ":ro" : ""}`]),
    ...Object.entries(c.env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    "--entrypoint",
    c.entrypoint.join(" "),
    c.image,
    ...c.command,
  ];
}

export function dockerRunLine(c: ContainerSpec): string {
  return shellJoin(dockerRunArgv(c));
}
