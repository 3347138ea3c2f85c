/**
 * The argv of the process that runs vLLM on each node, for both launchers (RECIPE.md "Launch").
 * mp: `vllm serve` on every node with --nnodes/--node-rank/--master-addr/--master-port, and
 * --headless on ranks > 0. Ray: `ray start` on every node, then `vllm serve` on the head.
 */
import type { ClusterConfig, NodeConfig } from "../config/schema";
import type { ModelSpec } from "../models/deepseek-v4-flash";
import { backendSettings, speculativeSettings } from "../config/variant";
import { hostFile } from "../shell/host";
import { shellJoin } from "../shell/quote";
import { rawShell, sh } from "../shell/sh";
import type { ResolvedProfile } from "./profile";

/** Ray's object store, from the recipe: 1 GiB. */
export const RAY_OBJECT_STORE_BYTES = 1073741824;

export interface LaunchInputs {
  readonly config: ClusterConfig;
  readonly profile: ResolvedProfile;
  readonly model: ModelSpec;
  readonly tensorParallelSize: number;
}

/** The `vllm serve` flags every node shares (model, profile, parallelism, port). */
export function serveFlags(i: LaunchInputs): string[] {
  const { config: c, profile: p } = i;
  const s = c.serving;
  // The resolved profile decides the MTP token count (a custom profile may override it).
  const spec = speculativeSettings({ ...s, profile: { numSpeculativeTokens: p.numSpeculativeTokens } }, i.model);
  const flags = [
    "--served-model-name",
    c.model.servedName,
    ...i.model.modelFlags,
    "--tensor-parallel-size",
    String(i.tensorParallelSize),
    ...(s.pipelineParallelSize > 1 ? ["--pipeline-parallel-size", String(s.pipelineParallelSize)] : []),
    "--host",
    "0.0.0.0",
    "--port",
    String(s.port),
    "--max-model-len",
    String(p.maxModelLen),
    "--max-num-seqs",
    String(p.maxNumSeqs),
    "--max-num-batched-tokens",
    String(p.maxNumBatchedTokens),
    "--gpu-memory-utilization",
    formatUtil(s.gpuMemoryUtilization),
    "--kv-cache-dtype",
    p.kvCacheDtype,
    "--block-size",
    String(p.blockSize),
    "--load-format",
    p.loadFormat,
    ...backendFlags(i),
    ...(spec.json ? ["--speculative-config", JSON.stringify(spec.json)] : []),
    "--compilation-config",
    JSON.stringify(p.compilationConfig),
    ...(p.enablePrefixCaching ? ["--enable-prefix-caching"] : []),
    "--max-cudagraph-capture-size",
    String(p.maxCudagraphCaptureSize),
  ];
  return flags;
}

/** `--moe-backend/--linear-backend/--attention-backend` (serving.backends or the variant's); "default" leaves a flag out. */
export function backendFlags(i: LaunchInputs): string[] {
  const b = backendSettings(i.config.serving, i.model);
  return [
    ...(b.moe !== "default" ? ["--moe-backend", b.moe] : []),
    ...(b.linear !== "default" ? ["--linear-backend", b.linear] : []),
    ...(b.attention !== "default" ? ["--attention-backend", b.attention] : []),
  ];
}

/** 0.8 -> "0.80", 0.825 -> "0.825": two decimals at least, as the recipe writes it. */
export function formatUtil(u: number): string {
  const two = u.toFixed(2);
  return Number(two) === u ? two : String(u);
}

export interface NodeLaunch {
  readonly serveArgv: string[];
  readonly rayStartArgv?: string[];
  /** The container's process (argv), possibly wrapping serveArgv. */
  readonly containerCommand: string[];
}

/** Argv for `node` at `rank` (0 = head). */
export function nodeLaunch(
  i: LaunchInputs,
  node: NodeConfig,
  rank: number,
  head: NodeConfig,
  nodeCount: number,
): NodeLaunch {
  const c = i.config;
  const headAddr = (head.dataPlane[0] as { address: string }).address;
  const nodeAddr = (node.dataPlane[0] as { address: string }).address;
  // delivery local serves the folder itself; otherwise the hub id at the pinned revision (from the cache).
  const local = c.model.delivery === "local" && c.model.localPath !== undefined;
  const modelArg = local ? (c.model.localPath as string) : c.model.id;
  const revision = !local && c.model.revision !== undefined ? ["--revision", c.model.revision] : [];
  const serveHead = ["vllm", "serve", modelArg, ...revision, ...serveFlags(i)];
  let launch: NodeLaunch;
  if (c.serving.launcher === "mp") {
    const serveArgv = [
      ...serveHead,
      "--nnodes",
      String(nodeCount),
      "--node-rank",
      String(rank),
      "--master-addr",
      headAddr,
      "--master-port",
      String(c.link.masterPort),
      ...(rank > 0 ? ["--headless"] : []),
      ...c.serving.extraArgs,
    ];
    launch = { serveArgv, containerCommand: serveArgv };
  } else {
    const common = [
      "--object-store-memory",
      String(RAY_OBJECT_STORE_BYTES),
      "--num-cpus",
      "2",
      "--node-ip-address",
      nodeAddr,
      "--disable-usage-stats",
    ];
    if (rank === 0) {
      const rayStartArgv = [
        "ray",
        "start",
        "--head",
        "--port",
        String(c.link.masterPort),
        ...common,
        "--include-dashboard=false",
      ];
      const serveArgv = [...serveHead, "--distributed-executor-backend", "ray", ...c.serving.extraArgs];
      // Ray head, then vLLM in the foreground (exec: signals reach vLLM, the init process reaps).
      launch = {
        serveArgv,
        rayStartArgv,
        containerCommand: ["bash", "-c", `${shellJoin(rayStartArgv)} && exec ${shellJoin(serveArgv)}`],
      };
    } else {
      const serveArgv = ["ray", "start", `--address=${headAddr}:${c.link.masterPort}`, ...common, "--block"];
      launch = { serveArgv, containerCommand: serveArgv };
    }
  }
  if (c.link.gidPolicy === "resolve") {
    return { ...launch, containerCommand: withGidResolver(node, launch.containerCommand) };
  }
  return launch;
}

/**
 * `link.gidPolicy: resolve`: at container start, find the RoCEv2 GID index of this node's address
 * on its first HCA in /sys/class/infiniband and export NCCL_IB_GID_INDEX; exit 1 (fail closed)
 * when there is none.
 */
export function withGidResolver(node: NodeConfig, command: readonly string[]): string[] {
  const p = node.dataPlane[0] as { hca: string; address: string };
  return [
    "bash",
    "-c",
    `${gidResolverScript(p.hca, p.address)}\nexport NCCL_IB_GID_INDEX="$idx"\nexec "$@"`,
    "dgx-spark-vllm-gid",
    ...command,
  ];
}

/** The IPv4-mapped GID of an address, as /sys/class/infiniband shows it. */
export function roceGid(address: string): string {
  const hex = address.split(".").map((o) => Number(o).toString(16).padStart(2, "0"));
  return `0000:0000:0000:0000:0000:ffff:${hex[0]}${hex[1]}:${hex[2]}${hex[3]}`;
}

/**
 * The shell call (a command, needs `hostFile("gid.sh")` defined before it) that prints the RoCEv2
 * GID index of `address` on `hca` port 1 and fails when there is none.
 */
export function gidIndexCall(hca: string, address: string): string {
  return sh`roce_gid_index ${hca} ${roceGid(address)}`;
}

/** Shell that sets `idx` to the RoCEv2 GID index of `address` on `hca` port 1, or exits 1. */
export function gidResolverScript(hca: string, address: string): string {
  const missing = `dgx-spark-vllm: no RoCEv2 GID for ${address} on ${hca}: run the link recovery (pulumi up) before starting`;
  return [
    "set -euo pipefail",
    hostFile("gid.sh").replace(/\n$/, ""),
    sh`if ! idx=$(${rawShell(gidIndexCall(hca, address))}); then echo ${missing} >&2; exit 1; fi`,
  ].join("\n");
}
