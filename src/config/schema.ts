/**
 * The cluster model: one zod schema for stack config and plain objects alike.
 *
 * Field rules live on the fields; rules that relate fields (unique names, subnets, one head,
 * TP x PP = nodes, utilisation acknowledgement, pinned refs, managed flags) live in
 * `crossFieldRules` so that every problem is reported at once with its path.
 */
import { z } from "zod";
import { MANAGED_ENV, MANAGED_FLAGS } from "./managed";
import { isNetworkOrBroadcast, networkOf, parseIpv4 } from "./net";
import { NO_CONTROL_CHARS, PATTERNS } from "./patterns";
import { apiKeyProblem } from "./api-key";
import { Secret, toSecret } from "./secret";
import { PROFILE_NAMES, type ProfileName } from "../profiles";
import { IMAGE_PRESET_NAMES, KNOWN_BAD_HOSTS, MODEL_VARIANTS, MODEL_VARIANT_NAMES } from "../models";
import { variantRules } from "./variant-rules";

type PatternName = keyof typeof PATTERNS;

/** An error message that says "is required" when the value is missing altogether. */
export const typeError = (expected: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? `is required: ${expected}` : `has the wrong type: expected ${expected}`;

/** A string matching one of the strict patterns, with the pattern's hint in the error. */
function pat(name: PatternName) {
  const p = PATTERNS[name];
  return z.string({ error: typeError(p.hint) }).regex(p.re, { error: `is not valid: expected ${p.hint}` });
}

/** A secret field: a string, a Pulumi secret Output or an encrypted stack value; becomes a Secret. */
const secret = z.unknown().transform((v, ctx): Secret => {
  const s = toSecret(v);
  if (typeof s === "string") {
    ctx.addIssue({ code: "custom", message: s });
    return z.NEVER;
  }
  return s;
});

const int = (min: number, max: number, what: string) =>
  z
    .number({ error: typeError(`a number (${what})`) })
    .int({ error: `must be a whole number (${what})` })
    .min(min, { error: `must be at least ${min} (${what})` })
    .max(max, { error: `must be at most ${max} (${what})` });

const port = int(1, 65535, "a TCP port");

const ipv4 = z
  .string({ error: typeError("an IPv4 address such as 10.0.0.1") })
  .refine((s) => parseIpv4(s) !== undefined, {
    error: "is not an IPv4 address (expected a dotted quad such as 10.0.0.1)",
  });

/** One data-plane port: the netdev/HCA pair and the node's address on it. */
export const dataPlanePortSchema = z.strictObject({
  /** Ethernet name of the ConnectX-7 port, e.g. enp1s0f1np1. */
  netdev: pat("netdev"),
  /** RDMA device of that port, e.g. rocep1s0f1 (`ibdev2netdev` maps it to the netdev). */
  hca: pat("hca"),
  /** This node's IPv4 address on the port. */
  address: ipv4,
  /** Prefix length of the point-to-point subnet. @default 30 */
  prefix: int(8, 31, "prefix length").default(30),
});

const sshFields = {
  /** SSH port. @default 22 */
  port: port.optional(),
  /** Login user (needs passwordless sudo and the docker group). */
  user: pat("user").optional(),
  /** Private key (a secret). Either this or `useAgent`. */
  privateKey: secret.optional(),
  /** Use the local SSH agent instead of a key. @default false */
  useAgent: z.boolean().optional(),
};

/** Cluster-wide SSH defaults, applied to every node that does not set its own. */
export const sshDefaultsSchema = z.strictObject(sshFields);

export const nodeSchema = z.strictObject({
  /** Node name: used for resources, containers and messages. */
  name: pat("nodeName"),
  /** `head` runs the API server (rank 0); `worker` nodes run headless ranks. */
  role: z.enum(["head", "worker"], {
    error: (iss) => (iss.input === undefined ? "is required: 'head' or 'worker'" : "must be 'head' or 'worker'"),
  }),
  /** How to reach the node's management address. */
  ssh: z.strictObject({
    /** Management host name or address (not the data plane). */
    host: pat("host"),
    ...sshFields,
    /** Pinned SSH host key ('ssh-ed25519 AAAA...'); when absent the first key seen is trusted. */
    hostKey: pat("hostKey").optional(),
  }),
  /** One or two data-plane ports (the Spark's twin netdev/HCA pairs of one QSFP port). */
  dataPlane: z
    .array(dataPlanePortSchema, { error: "must be a list of one or two data-plane ports" })
    .min(1, { error: "needs at least one data-plane port" })
    .max(2, { error: "takes at most two ports (the two twins of one QSFP port)" }),
  /** Which replica this node serves in (serving.replicas > 1): each replica has one head and its own endpoint. @default 0 */
  replica: int(0, 15, "replica index").optional(),
  /** Host folder holding the caches (huggingface, vllm, flashinfer, triton). @default /home/<user>/.cache (/root/.cache for root) */
  cacheRoot: pat("absPath").optional(),
  /** Memory of this node for the memory planner, when it is not a stock GB10. @default GB10 (121.7 GiB visible) */
  memory: z
    .strictObject({
      /** Memory vLLM sees, GiB. @default 121.7 */
      visibleGiB: z.number().gt(8).lt(4096).optional(),
      /** Used before vLLM starts (OS, services), GiB. @default 4 */
      startBaselineGiB: z.number().min(0).lt(1024).optional(),
      /** Used outside vLLM's budget while serving, GiB. @default 16.84 */
      outsideBudgetGiB: z.number().min(0).lt(1024).optional(),
    })
    .optional(),
});

export const linkSchema = z.strictObject({
  /** Data-plane MTU on both ends. @default 9000 */
  mtu: int(1280, 9216, "MTU").default(9000),
  /**
   * RoCEv2 GID index policy. `auto`: NCCL picks (NCCL_IB_GID_INDEX unset). `resolve`: read each
   * node's RoCEv2 GID index for its address at start and fail closed if none. `{ index: N }`: pin.
   * @default "auto"
   */
  gidPolicy: z
    .union([z.literal("auto"), z.literal("resolve"), z.strictObject({ index: int(0, 255, "GID index") })], {
      error: "must be 'auto', 'resolve' or { index: N }",
    })
    .default("auto"),
  /**
   * IPv6 off on the data-plane ports (journaled, undone on delete): IPv6 addresses there shift the
   * RoCEv2 GID indices. @default false
   */
  disableIpv6: z.boolean().default(false),
  /** Rendezvous port on the head (Ray GCS or torch master). @default 29501 */
  masterPort: port.default(29501),
});

export const buildImageSchema = z.strictObject({
  source: z.literal("build"),
  /** vLLM repository. @default https://github.com/vllm-project/vllm.git */
  vllmRepo: pat("gitUrl").default("https://github.com/vllm-project/vllm.git"),
  /** The validated vLLM commit (reference build 0.23.1rc1.dev407+g28fef2c70). @default "28fef2c70" */
  vllmRef: pat("gitRef").default("28fef2c70"),
  /** PR whose head is checked out (never merged) before `vllmRef`. @default [41834] */
  prs: z
    .array(int(1, 10_000_000, "PR number"))
    .max(1, {
      error: "takes at most one PR: its head is checked out, not merged (merging PR branches is the recipe's gotcha 1)",
    })
    .default([41834]),
  /** FlashInfer repository. @default https://github.com/flashinfer-ai/flashinfer.git */
  flashinferRepo: pat("gitUrl").default("https://github.com/flashinfer-ai/flashinfer.git"),
  /** FlashInfer ref built from source. @default "main" (the recipe names no commit; the plan notes it) */
  flashinferRef: pat("gitRef").default("main"),
  /** NCCL tag built for sm_121. @default "v2.30u1" */
  ncclRef: pat("gitRef").default("v2.30u1"),
  /** CUDA arch string for TORCH/FLASHINFER_CUDA_ARCH_LIST. @default "12.1a" */
  arch: z
    .string()
    .regex(/^\d+\.\d+a?$/, { error: "is not valid: expected a CUDA arch such as 12.1a" })
    .default("12.1a"),
  /** Build parallelism (limits memory use of the build). @default 16 */
  buildJobs: int(1, 256, "build jobs").default(16),
  /** Image tag. @default "vllm-gb10-dsv4" */
  tag: pat("imageRef").default("vllm-gb10-dsv4"),
  /** Base image. @default "nvidia/cuda:13.2.0-devel-ubuntu24.04" */
  baseImage: pat("imageRef").default("nvidia/cuda:13.2.0-devel-ubuntu24.04"),
  /** CUDA torch re-installed after the vLLM wheel. @default "2.11.0" */
  torchVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, { error: "is not valid: expected a version such as 2.11.0" })
    .default("2.11.0"),
  /** Index for the CUDA torch. @default "https://download.pytorch.org/whl/cu130" */
  torchIndexUrl: z
    .string()
    .regex(/^https:\/\/[A-Za-z0-9./_-]+$/, { error: "is not valid: expected an https:// URL" })
    .default("https://download.pytorch.org/whl/cu130"),
  /** Accept a branch name (e.g. `main`) as vllmRef. @default false */
  allowUnpinned: z.boolean().default(false),
});

/** What an image has (speculative methods, KV cache dtypes, kernel families), as the plan checks it. */
export const imageCapabilitiesSchema = z.strictObject({
  /** `--speculative-config` methods the image serves. */
  speculative: z.array(z.enum(["mtp", "dspark"], { error: "must be 'mtp' or 'dspark'" })),
  /** `--kv-cache-dtype` values the image serves, e.g. fp8, nvfp4_ds_mla. */
  kvCacheDtypes: z.array(pat("word")),
  /** Kernel families behind --moe/--linear/--attention-backend, e.g. b12x. */
  backends: z.array(pat("word")),
});

/**
 * Which vLLM an image carries: a release (its `vllm serve` options and VLLM_* names are checked
 * when the package knows that release's surface, src/models/vllm-surface) or a ref, which is not checked.
 */
export const imageVllmSchema = z.union(
  [
    z.strictObject({
      /** A released vLLM version, e.g. 0.33.0 (`python -c 'import vllm; print(vllm.__version__)'` in the image). */
      version: z
        .string({ error: typeError("a vLLM release such as 0.33.0") })
        .regex(/^\d+\.\d+\.\d+$/, { error: "is not valid: expected a vLLM release such as 0.33.0" }),
    }),
    z.strictObject({
      /** A commit, PR head or dev build (e.g. 0.28.1rc1.dev345+g4cc0cb6f7): nothing is checked against it. */
      ref: z.string({ error: typeError("a commit, PR or dev build") }).regex(/^[A-Za-z0-9][A-Za-z0-9._+#/-]{0,127}$/, {
        error: "is not valid: expected a commit, PR or dev build (letters, digits, . _ + # / -)",
      }),
    }),
  ],
  { error: "must be { version: X.Y.Z } (a vLLM release) or { ref: <commit, PR or dev build> }" },
);

export const prebuiltImageSchema = z.strictObject({
  source: z.literal("prebuilt"),
  /** Image reference to pull (or already loaded) on every node. */
  ref: pat("imageRef"),
  /** What the image has; when set the plan refuses what it lacks, when absent nothing is checked. */
  capabilities: imageCapabilitiesSchema.optional(),
  /** The vLLM inside: `{ version: 0.33.0 }` has the argv and VLLM_* env checked against that release; absent or `{ ref }`: not checked. */
  vllm: imageVllmSchema.optional(),
});

/** A prebuilt community image NVIDIA's official recipes run, by name (src/models/images.ts). */
export const presetImageSchema = z.strictObject({
  source: z.literal("preset"),
  /** `eugr-spark-vllm` (original Flash) or `eugr-spark-vllm-b12x` (0731, b12x backends, DSpark). */
  name: z.enum(IMAGE_PRESET_NAMES as [string, ...string[]] as ["eugr-spark-vllm", "eugr-spark-vllm-b12x"], {
    error: `must be one of ${IMAGE_PRESET_NAMES.join(", ")}`,
  }),
  /** Pin: the image digest (sha256:<64 hex>) you validated; without it the moving tag is used and the plan warns. */
  digest: z
    .string({ error: typeError("an image digest such as sha256:<64 hex digits>") })
    .regex(/^sha256:[0-9a-f]{64}$/, { error: "is not valid: expected sha256: and 64 lowercase hex digits" })
    .optional(),
});

export const imageSchema = z.discriminatedUnion("source", [buildImageSchema, prebuiltImageSchema, presetImageSchema], {
  error: "must have source: 'build', 'prebuilt' or 'preset'",
});

export const modelSchema = z
  .strictObject({
    /** Model variant (src/models): its flags, env, geometry and speculative methods. @default "deepseek-v4-flash" */
    variant: z
      .enum(MODEL_VARIANT_NAMES as ["deepseek-v4-flash", "deepseek-v4-flash-0731"], {
        error: `must be one of ${MODEL_VARIANT_NAMES.join(", ")}`,
      })
      .default("deepseek-v4-flash"),
    /** Hugging Face model id. @default the variant's (deepseek-ai/DeepSeek-V4-Flash, deepseek-ai/DeepSeek-V4-Flash-0731) */
    id: pat("modelId").optional(),
    /** Name served by the API. @default "deepseek-v4" */
    servedName: pat("word").default("deepseek-v4"),
    /** Host path of the Hugging Face cache. @default <cacheRoot>/huggingface */
    hfCachePath: pat("absPath").optional(),
    /** Hugging Face token (a secret; the model is gated). */
    hfToken: secret.optional(),
    /** Put the weights on every node (and verify them) before the engine starts. @default true */
    prefetch: z.boolean().default(true),
    /**
     * How the weights reach the nodes (docs/weights.md): `each` node downloads from the hub;
     * `head-then-copy`: the head downloads, the others receive the files from it over the data-plane
     * addresses; `local`: `localPath` already holds them on every node (no hub access at all).
     * Every file is checked (size and hash) before the engine starts; a copy that cannot finish
     * falls back to the node's own download. @default "head-then-copy" with two nodes or more, else "each"
     */
    delivery: z.enum(["each", "head-then-copy", "local"]).optional(),
    /** The hub revision to serve, pinned by its 40-hex commit hash (a branch or tag warns). @default the hub's main branch (not pinned) */
    revision: pat("gitRef").optional(),
    /** With delivery `local`: the folder on every node that holds the model (made by `hf download --local-dir`). */
    localPath: pat("absPath").optional(),
    /** Hub endpoint or mirror (HF_ENDPOINT) the download uses. @default https://huggingface.co */
    hubEndpoint: pat("hubUrl").optional(),
  })
  .superRefine((m, ctx) => {
    if (m.delivery === "local" && m.localPath === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["localPath"],
        message: "is required with model.delivery: local: the folder on every node that holds the model",
      });
    if (m.delivery !== "local" && m.localPath !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["localPath"],
        message: `is only used with model.delivery: local (it is ${m.delivery ?? "not set"}): remove it or set delivery: local`,
      });
  })
  .transform((m) => ({ ...m, id: m.id ?? MODEL_VARIANTS[m.variant].id }));

const profileFields = {
  name: pat("word").optional(),
  maxModelLen: int(1024, 10_000_000, "tokens").optional(),
  maxNumSeqs: int(1, 1024, "sequences").optional(),
  maxNumBatchedTokens: int(256, 1_000_000, "tokens").optional(),
  maxCudagraphCaptureSize: int(1, 1024, "batch size").optional(),
  kvCacheDtype: pat("word").optional(),
  blockSize: int(1, 4096, "tokens").optional(),
  loadFormat: pat("word").optional(),
  numSpeculativeTokens: int(1, 16, "tokens").optional(),
  compilationConfig: z.record(z.string(), z.unknown()).optional(),
  enablePrefixCaching: z.boolean().optional(),
  longContextEnv: z.boolean().optional(),
  tradeoff: z.string().regex(NO_CONTROL_CHARS, { error: "must be one line" }).optional(),
};

/** A custom profile: a built-in `base` with overrides, or a full profile (maxModelLen, maxNumSeqs, maxNumBatchedTokens required). */
export const customProfileSchema = z.strictObject({
  base: z
    .enum(PROFILE_NAMES as [ProfileName, ...ProfileName[]], { error: `must be one of ${PROFILE_NAMES.join(", ")}` })
    .optional(),
  ...profileFields,
});

/**
 * The coordinated watchdog on the head (docs/operations.md "The watchdog"): probes, lost-rank detection, ordered
 * restarts of every rank, with spacing, backoff, an hourly cap and a free-memory check.
 */
export const watchdogSchema = z.strictObject({
  /** Install the watchdog (a systemd service on the head). @default true */
  enabled: z.boolean().default(true),
  /** Seconds between probes (container state, log signatures, /health and a one-token completion). @default 30 */
  probeIntervalSeconds: int(1, 3600, "seconds").default(30),
  /** Timeout of each HTTP probe, seconds (a busy engine answers a one-token completion well within it). @default 60 */
  probeTimeoutSeconds: int(1, 3600, "seconds").default(60),
  /** Consecutive failed HTTP probes before a restart (an exited rank or a lost-rank log line restarts at once). @default 3 */
  failuresBeforeRestart: int(1, 100, "probes").default(3),
  /** How long a (re)started engine may take to answer /v1/models (boot ~80 s plus the weight load). @default 900 */
  bootTimeoutSeconds: int(5, 7200, "seconds").default(900),
  /** Least time between the starts of two restarts; doubled after each failed restart up to maxBackoffSeconds. @default 300 */
  minRestartIntervalSeconds: int(1, 86400, "seconds").default(300),
  /** Longest wait between two restarts. @default 1800 */
  maxBackoffSeconds: int(1, 86400, "seconds").default(1800),
  /** Restarts allowed in any hour; one more needed and the watchdog stops the ranks and gives up. @default 3 */
  maxRestartsPerHour: int(1, 60, "restarts").default(3),
  /** `docker stop -t`: grace before a rank is killed, seconds. @default 30 */
  stopTimeoutSeconds: int(1, 600, "seconds").default(30),
  /** Free memory (MemAvailable, GiB) every node needs before a restart. @default the plan's start need (util x visible) */
  minFreeGiB: z
    .number({ error: "must be a number of GiB" })
    .gt(0, { error: "must be above 0" })
    .lt(4096, { error: "must be below 4096" })
    .optional(),
});

/** The routing policies of vllm-router 0.1.17 (its `--policy`) that work without extra inputs. */
export const ROUTER_POLICIES = [
  "cache_aware",
  "round_robin",
  "random",
  "power_of_two",
  "consistent_hash",
  "sticky_least_loaded",
] as const;

/** vLLM's own router (vllm-router from PyPI) in front of `serving.replicas` (docs/router.md). */
export const routerSchema = z.strictObject({
  /** Run the router: its endpoint becomes the cluster's. @default false */
  enabled: z.boolean().default(false),
  /** `--policy`: cache_aware keeps requests that share a prefix on one replica (its prefix cache). @default "cache_aware" */
  policy: z.enum(ROUTER_POLICIES, { error: `must be one of ${ROUTER_POLICIES.join(", ")}` }).default("cache_aware"),
  /** The router's API port on its node. @default 8080 */
  port: port.default(8080),
  /** The router's Prometheus metrics port on its node (`--prometheus-port`). @default 29000 */
  metricsPort: port.default(29000),
  /** The node (nodes[].name) that runs the router. @default the first replica's head */
  node: pat("nodeName").optional(),
});

export const servingSchema = z.strictObject({
  /** Context profile: `1m`, `512k`, `256k`, or a custom object. @default "1m" */
  profile: z
    .union([z.enum(PROFILE_NAMES as [ProfileName, ...ProfileName[]]), customProfileSchema], {
      error: `must be one of ${PROFILE_NAMES.join(", ")} or a custom profile object`,
    })
    .default("1m"),
  /** `--gpu-memory-utilization`, in (0, 0.95). 0.85 or more needs acknowledgeHighUtilization. @default 0.80 */
  gpuMemoryUtilization: z
    .number({ error: "must be a number between 0 and 0.95" })
    .gt(0, { error: "must be above 0" })
    .lt(0.95, { error: "must be below 0.95 (the unified pool also holds the OS, page cache and the runtime)" })
    .default(0.8),
  /** Accept util >= 0.85 (only on a dedicated node with the desktop stopped). @default false */
  acknowledgeHighUtilization: z.boolean().default(false),
  /** Legacy switch for MTP (`true`: method mtp, `false`: off); prefer serving.speculative. @default the variant's */
  mtp: z.boolean().optional(),
  /** Speculative decoding (`--speculative-config`). @default the variant's: mtp x2 (original), dspark x5 (0731) */
  speculative: z
    .strictObject({
      /** `mtp` (the original's MTP heads), `dspark` (0731's bundled draft head) or `off`. */
      method: z.enum(["mtp", "dspark", "off"], { error: "must be 'mtp', 'dspark' or 'off'" }),
      /** num_speculative_tokens. @default the profile's numSpeculativeTokens (mtp) or the variant's (dspark: 5) */
      tokens: int(1, 16, "tokens").optional(),
      /** draft_sample_method (dspark); "default" leaves it out. @default the variant's ("probabilistic" for 0731) */
      draftSampleMethod: z
        .enum(["probabilistic", "greedy", "default"], { error: "must be 'probabilistic', 'greedy' or 'default'" })
        .optional(),
      /** attention_backend of the drafter; "default" leaves it out. @default the variant's ("B12X" for 0731) */
      attentionBackend: pat("word").optional(),
    })
    .optional(),
  /** `--moe-backend`, `--linear-backend`, `--attention-backend`; "default" leaves a flag out. @default the variant's */
  backends: z
    .strictObject({
      moe: pat("word").optional(),
      linear: pat("word").optional(),
      attention: pat("word").optional(),
    })
    .optional(),
  /** Multi-node launcher: `mp` (no Ray; --nnodes/--node-rank) or `ray`. @default "mp" */
  launcher: z.enum(["mp", "ray"], { error: "must be 'mp' or 'ray'" }).default("mp"),
  /** API port on the head. @default 8000 */
  port: port.default(8000),
  /** API key for the OpenAI-compatible server (a secret). Required unless allowUnauthenticated. */
  apiKey: secret.optional(),
  /** Serve without an API key (anyone on the network can use it). @default false */
  allowUnauthenticated: z.boolean().default(false),
  /** Run containers privileged (the recipe's way). false: IPC_LOCK, /dev/infiniband, shm and limits. @default true */
  privileged: z.boolean().default(true),
  /** Settings for privileged: false. */
  nonPrivileged: z
    .strictObject({
      /** `--shm-size`. @default "64g" */
      shmSize: pat("size").default("64g"),
      /** `--memory` limit; unset means none. */
      memoryLimit: pat("size").optional(),
      /** `--pids-limit`. @default 16384 */
      pidsLimit: int(64, 4_194_304, "processes").default(16384),
    })
    .prefault({}),
  /** Tensor-parallel size. @default number of nodes / pipelineParallelSize */
  tensorParallelSize: int(1, 64, "ranks").optional(),
  /**
   * Independent serving replicas, each of TP x PP nodes with its own head and endpoint (nodes[].replica
   * says which); put a router in front (docs/operations.md "More than two Sparks"). @default 1
   */
  replicas: int(1, 16, "replicas").default(1),
  /** Pipeline-parallel size. @default 1 */
  pipelineParallelSize: int(1, 64, "stages").default(1),
  /** Extra `vllm serve` arguments (not one the plan already sets). @default [] */
  extraArgs: z
    .array(z.string().regex(NO_CONTROL_CHARS, { error: "must not contain control characters or newlines" }))
    .default([]),
  /** Extra environment for every rank (not one the plan already sets). @default {} */
  extraEnv: z
    .record(
      pat("envName"),
      z.string().regex(NO_CONTROL_CHARS, { error: "must not contain control characters or newlines" }),
    )
    .default({}),
  /** The coordinated watchdog (docs/operations.md "The watchdog"). */
  watchdog: watchdogSchema.prefault({}),
  /** vLLM's own router (vllm-router) in front of the replicas: one endpoint for all (docs/router.md). */
  router: routerSchema.prefault({}),
});

export const hardeningSchema = z.strictObject({
  /** vm.min_free_kbytes (a ~3 GB reserve so an OOM kills the engine, not the host). @default 3145728 */
  minFreeKbytes: int(65536, 16_777_216, "KiB").default(3145728),
  /** swapoff -a, now and across reboots. @default true */
  swapOff: z.boolean().default(true),
  /** The drop-caches sidecar on every node while the weights load. @default true */
  dropCachesDuringLoad: z.boolean().default(true),
  /**
   * UMA headroom alert threshold in GiB of MemAvailable (checked every 60 s; the key keeps the
   * recipe's name, whose `free -g` also counts GiB). 6 is under the ~7.5 GiB the memory model
   * predicts free per node while serving at utilisation 0.80 (every profile), and over the 3 GiB at
   * which the plan warns of an OOM (the recipe's 12 would alert from the start). @default 6
   */
  umaAlertThresholdGb: z.number().gt(0).lt(128).default(6),
  /**
   * Known-bad host versions (src/models/host-versions.ts) you accept on your nodes: preflight and
   * doctor then warn instead of refusing. @default []
   */
  acknowledgeKnownBad: z
    .array(
      z.enum(KNOWN_BAD_HOSTS.map((k) => k.id) as [string, ...string[]], {
        error: `must be one of ${KNOWN_BAD_HOSTS.map((k) => k.id).join(", ")}`,
      }),
    )
    .default([]),
  /** Optional webhook the headroom monitor POSTs to. */
  webhookUrl: z
    .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
    .regex(NO_CONTROL_CHARS)
    .optional(),
});

/** One observability container: its image (pin by tag and digest) and port on the host. */
const obsImage = (image: string, port: number) =>
  z.strictObject({
    /** Image reference; pin it by digest (`name:tag@sha256:...`): a tag alone may move. */
    image: pat("imageRef").default(image),
    /** Port on the host (host networking). */
    port: int(1, 65535, "a TCP port").default(port),
  });

/**
 * Opt-in metrics, dashboards and alerts (docs/observability.md): Prometheus, Alertmanager and
 * Grafana containers on the head, a node exporter on every Spark, our node metrics through its
 * textfile collector (written by the UMA monitor).
 */
export const observabilitySchema = z.strictObject({
  /** Deploy the observability stack. @default false */
  enabled: z.boolean().default(false),
  /** Prometheus on the head. @default image prom/prometheus:v2.53.3, port 9090 */
  prometheus: obsImage("prom/prometheus:v2.53.3", 9090)
    .extend({
      /** How long samples are kept (`--storage.tsdb.retention.time`), e.g. 15d, 12h. @default "15d" */
      retention: z
        .string()
        .regex(/^[1-9][0-9]{0,5}(ms|s|m|h|d|w|y)$/, { error: "must be a duration such as 15d, 12h or 4w" })
        .default("15d"),
      /** Scrape and rule evaluation interval, seconds. @default 15 */
      scrapeIntervalSeconds: int(1, 300, "seconds").default(15),
      /**
       * Where Prometheus listens on the head. `loopback` (127.0.0.1): only Grafana and our tools on
       * the head reach it (from elsewhere: `ssh -L 9090:127.0.0.1:9090 <head>`). `all`: every
       * interface, without authentication (docs/exposure.md). @default "loopback"
       */
      listen: z.enum(["loopback", "all"], { error: "must be 'loopback' or 'all'" }).default("loopback"),
    })
    .prefault({}),
  /** Alertmanager on the head: routes the alerts to hardening.webhookUrl. @default prom/alertmanager:v0.27.0, port 9093 */
  alertmanager: obsImage("prom/alertmanager:v0.27.0", 9093).prefault({}),
  /** Grafana on the head, with the dashboard provisioned. @default grafana/grafana:11.2.0, port 3000 */
  grafana: obsImage("grafana/grafana:11.2.0", 3000)
    .extend({
      /** Admin password (a secret: `pulumi config set --secret grafanaAdminPassword ...`). Required when enabled. */
      adminPassword: secret.optional(),
    })
    .prefault({}),
  /** The node exporter on every Spark (a container, host network, textfile collector). @default prom/node-exporter:v1.8.2, port 9100 */
  nodeExporter: obsImage("prom/node-exporter:v1.8.2", 9100).prefault({}),
  /** Alert thresholds. */
  alerts: z
    .strictObject({
      /** KV cache usage (0-1) that counts as saturated. @default 0.95 */
      kvUsageSaturated: z.number().gt(0).max(1).default(0.95),
      /** Minutes KV usage must stay saturated before the alert fires. @default 5 */
      kvSaturatedMinutes: int(1, 1440, "minutes").default(5),
      /** Speculative acceptance rate (accepted / drafted, 0-1) under which acceptance has collapsed. @default 0.3 */
      acceptanceRateBelow: z.number().gt(0).lt(1).default(0.3),
    })
    .prefault({}),
  /** Keep the Prometheus and Grafana data volumes when the stack is destroyed. @default false */
  keepDataOnDestroy: z.boolean().default(false),
});

const clusterObject = z.strictObject({
  /** The Sparks: exactly one head, the rest workers. */
  nodes: z
    .array(nodeSchema, { error: "must be a list of nodes" })
    .min(2, { error: "needs at least two nodes (this library deploys across Sparks)" }),
  /** SSH settings shared by every node unless the node sets its own. */
  ssh: sshDefaultsSchema.prefault({}),
  link: linkSchema.prefault({}),
  image: imageSchema.prefault({ source: "build" }),
  model: modelSchema.prefault({}),
  serving: servingSchema.prefault({}),
  hardening: hardeningSchema.prefault({}),
  /** Metrics, dashboards and alerts (off by default). */
  observability: observabilitySchema.prefault({}),
});

export const clusterSchema = clusterObject.superRefine((c, ctx) =>
  crossFieldRules(c, (path, message) => ctx.addIssue({ code: "custom", path, message })),
);

/**
 * The cross-field rules on the parts of an input that are well-formed, for an input whose shape
 * fails elsewhere: each section (and each node) is parsed on its own, and a rule runs when the
 * sections it reads parsed. So one run reports the shape problems and the semantic ones together.
 */
export function crossFieldProblems(input: unknown): { path: (string | number)[]; message: string }[] {
  const parts = wellFormedParts(input);
  if (parts === undefined) return [];
  const out: { path: (string | number)[]; message: string }[] = [];
  crossFieldRules(parts, (path, message) => out.push({ path, message }));
  return out;
}

/** The sections of an input (and the nodes) that parse on their own; undefined where they do not. */
export interface WellFormedParts extends RuleInput {
  readonly model: Cluster["model"] | undefined;
}

/** Each section (and each node) of an input parsed on its own, for rules that run despite a shape error elsewhere. */
export function wellFormedParts(input: unknown): WellFormedParts | undefined {
  if (!input || typeof input !== "object" || Array.isArray(input)) return undefined;
  const raw = input as Record<string, unknown>;
  const section = <S extends z.ZodType>(schema: S, key: string): z.output<S> | undefined => {
    const r = schema.safeParse(raw[key]);
    return r.success ? r.data : undefined;
  };
  const nodes = Array.isArray(raw.nodes)
    ? raw.nodes.map((n) => {
        const r = nodeSchema.safeParse(n);
        return r.success ? r.data : undefined;
      })
    : undefined;
  return {
    nodes,
    ssh: section(clusterObject.shape.ssh, "ssh"),
    image: section(clusterObject.shape.image, "image"),
    serving: section(clusterObject.shape.serving, "serving"),
    model: section(clusterObject.shape.model, "model"),
    observability: section(clusterObject.shape.observability, "observability"),
    link: section(clusterObject.shape.link, "link"),
  };
}

/** What a user writes (before defaults). */
export type ClusterConfigInput = z.input<typeof clusterSchema>;
/** The validated config with every default filled in. */
export type ClusterConfig = z.output<typeof clusterSchema>;
export type NodeConfig = ClusterConfig["nodes"][number];
export type DataPlanePort = NodeConfig["dataPlane"][number];
export type ImageConfig = ClusterConfig["image"];
export type ServingConfig = ClusterConfig["serving"];
export type WatchdogConfig = ServingConfig["watchdog"];
export type CustomProfileInput = z.input<typeof customProfileSchema>;

type Cluster = z.output<typeof clusterObject>;
/** What the rules read; a section (or node) that did not parse is undefined and its rules are skipped. */
interface RuleInput {
  readonly model?: Cluster["model"] | undefined;
  readonly nodes: readonly (Cluster["nodes"][number] | undefined)[] | undefined;
  readonly ssh: Cluster["ssh"] | undefined;
  readonly image: Cluster["image"] | undefined;
  readonly serving: Cluster["serving"] | undefined;
  readonly observability?: Cluster["observability"] | undefined;
  readonly link?: Cluster["link"] | undefined;
}
type Issue = (path: (string | number)[], message: string) => void;

function crossFieldRules(c: RuleInput, issue: Issue): void {
  const all = c.nodes ?? [];
  const ctx: NodeRuleCtx = {
    c,
    all,
    complete: c.nodes !== undefined && all.every((n) => n !== undefined),
    // The nodes that parsed, with their index in the input (so paths stay right).
    nodes: all.flatMap((n, i) => (n === undefined ? [] : [{ ...n, i }])),
    issue,
  };
  for (const rule of NODE_RULES) rule(ctx);
  if (c.image) imageRules(c.image, issue);
  observabilityRules(c, issue);
  routerRules(c, issue);
  if (c.serving) servingRules(c.serving, c.nodes?.length, issue);
  if (c.serving && c.model) variantRules(c.model, c.serving, c.image, issue);
}

/** What the node rules read: the input, its nodes as given, whether all parsed, and those that did (with their index). */
interface NodeRuleCtx {
  readonly c: RuleInput;
  readonly all: NonNullable<RuleInput["nodes"]>;
  readonly complete: boolean;
  readonly nodes: (NonNullable<NonNullable<RuleInput["nodes"]>[number]> & { readonly i: number })[];
  readonly issue: Issue;
}

/** The rules across nodes, in the order their problems are reported. */
const NODE_RULES: readonly ((ctx: NodeRuleCtx) => void)[] = [
  headRules,
  uniqueNodeRules,
  addressRules,
  twinPortRules,
  twinSubnetRules,
  sshRules,
];

/** Exactly one head (with a malformed node, only "more than one" is certain); one per replica. */
function headRules({ c, nodes, complete, issue }: NodeRuleCtx): void {
  const replicas = c.serving?.replicas ?? 1;
  if (replicas > 1) replicaRules(nodes, complete, replicas, issue);
  const heads = nodes.filter((n) => n.role === "head");
  if (replicas === 1 && (heads.length > 1 || (complete && heads.length === 0))) {
    issue(
      ["nodes"],
      heads.length === 0
        ? "has no node with role 'head': mark exactly one node as head"
        : `has ${heads.length} heads (${heads.map((h) => h.name).join(", ")}): mark exactly one node as head`,
    );
  }
}

/** Unique names and management hosts. */
function uniqueNodeRules({ nodes, issue }: NodeRuleCtx): void {
  // Unique names, management hosts, data-plane addresses.
  const seen = (key: (n: (typeof nodes)[number]) => string, field: string, what: string) => {
    const first = new Map<string, number>();
    nodes.forEach((n) => {
      const i = n.i;
      const k = key(n);
      const j = first.get(k);
      if (j === undefined) first.set(k, i);
      else
        issue(
          ["nodes", i, ...field.split(".")],
          `${what} '${k}' is already used by nodes[${j}]: each node needs its own`,
        );
    });
  };
  seen((n) => n.name, "name", "name");
  seen((n) => n.ssh.host.toLowerCase(), "ssh.host", "management host");
}

/** Unique data-plane addresses, none the network or broadcast address of its subnet. */
function addressRules({ nodes, issue }: NodeRuleCtx): void {
  const addrOwner = new Map<string, string>();
  nodes.forEach((n) => {
    const i = n.i;
    n.dataPlane.forEach((p, t) => {
      const owner = addrOwner.get(p.address);
      if (owner)
        issue(
          ["nodes", i, "dataPlane", t, "address"],
          `address ${p.address} is already used by ${owner}: every data-plane port needs its own address`,
        );
      else addrOwner.set(p.address, `nodes[${i}].dataPlane[${t}]`);
      const a = parseIpv4(p.address);
      if (a !== undefined && isNetworkOrBroadcast(a, p.prefix)) {
        issue(
          ["nodes", i, "dataPlane", t, "address"],
          `${p.address} is the network or broadcast address of its /${p.prefix}: use a host address`,
        );
      }
    });
  });
}

/** Within a node: distinct netdevs and HCAs; twins on separate subnets. */
function twinPortRules({ nodes, issue }: NodeRuleCtx): void {
  nodes.forEach((n) => {
    const i = n.i;
    const [a, b] = n.dataPlane;
    if (a && b) {
      if (a.netdev === b.netdev)
        issue(["nodes", i, "dataPlane", 1, "netdev"], `repeats ${a.netdev}: the two twins are different netdevs`);
      if (a.hca === b.hca)
        issue(["nodes", i, "dataPlane", 1, "hca"], `repeats ${a.hca}: the two twins are different HCAs`);
      const na = parseIpv4(a.address),
        nb = parseIpv4(b.address);
      if (
        na !== undefined &&
        nb !== undefined &&
        networkOf(na, a.prefix) === networkOf(nb, Math.min(a.prefix, b.prefix))
      ) {
        issue(
          ["nodes", i, "dataPlane", 1, "address"],
          `is in the same subnet as dataPlane[0]: each twin needs a separate subnet`,
        );
      }
    }
  });
}

/** Per twin: the same count on every node, one subnet across its ends. */
function twinSubnetRules({ all, nodes, issue }: NodeRuleCtx): void {
  const first = all[0];
  const twins = first?.dataPlane.length ?? 0;
  nodes.forEach((n) => {
    const i = n.i;
    if (first !== undefined && n.dataPlane.length !== twins)
      issue(
        ["nodes", i, "dataPlane"],
        `has ${n.dataPlane.length} port(s) but nodes[0] has ${twins}: every node needs the same twins`,
      );
  });
  for (let t = 0; t < twins; t++) {
    const ref = first?.dataPlane[t];
    const refAddr = ref && parseIpv4(ref.address);
    if (!ref || refAddr === undefined) continue;
    nodes.forEach((n) => {
      const i = n.i;
      if (i === 0) return;
      const p = n.dataPlane[t];
      const a = p && parseIpv4(p.address);
      if (!p || a === undefined) return;
      if (p.prefix !== ref.prefix) {
        issue(
          ["nodes", i, "dataPlane", t, "prefix"],
          `is /${p.prefix} but nodes[0].dataPlane[${t}] is /${ref.prefix}: both ends of a twin share one subnet`,
        );
      } else if (networkOf(a, p.prefix) !== networkOf(refAddr, ref.prefix)) {
        issue(
          ["nodes", i, "dataPlane", t, "address"],
          `${p.address}/${p.prefix} is not in the subnet of nodes[0].dataPlane[${t}] (${ref.address}/${ref.prefix}): both ends of a twin must share one subnet`,
        );
      }
    });
  }
}

/** SSH: key or agent, not both (checked with the cluster-wide defaults applied), and a user for every node. */
function sshRules({ c, nodes, issue }: NodeRuleCtx): void {
  const ssh = c.ssh;
  if (ssh)
    nodes.forEach((n) => {
      const i = n.i;
      const key = n.ssh.privateKey ?? ssh.privateKey;
      const agent = n.ssh.useAgent ?? ssh.useAgent ?? false;
      if (key && agent)
        issue(["nodes", i, "ssh", "useAgent"], "is true while a privateKey is also set: choose the key or the agent");
      if (!(n.ssh.user ?? ssh.user))
        issue(["nodes", i, "ssh", "user"], "is not set: set it here or in ssh.user for every node");
    });
}

/** serving.replicas > 1: every node names a replica below the count, and each replica has exactly one head. */
function replicaRules(
  nodes: readonly (Cluster["nodes"][number] & { i: number })[],
  complete: boolean,
  replicas: number,
  issue: Issue,
): void {
  const byReplica = new Map<number, (typeof nodes)[number][]>();
  for (const n of nodes) {
    const r = n.replica ?? 0;
    if (r >= replicas) {
      issue(["nodes", n.i, "replica"], `is ${r}, but serving.replicas is ${replicas}: use 0 to ${replicas - 1}`);
      continue;
    }
    byReplica.set(r, [...(byReplica.get(r) ?? []), n]);
  }
  const size = nodes.length / replicas;
  for (let r = 0; r < replicas; r++) {
    const group = byReplica.get(r) ?? [];
    if (complete && Number.isInteger(size) && group.length !== size)
      issue(
        ["nodes"],
        `replica ${r} has ${group.length} node(s)` +
          `, but ${nodes.length} nodes in ${replicas} replicas means ${size} each` +
          `: set nodes[].replica so that every replica has ${size}`,
      );
    const heads = group.filter((n) => n.role === "head");
    if (heads.length > 1 || (complete && heads.length === 0))
      issue(
        ["nodes"],
        `replica ${r} has ${heads.length} heads${heads.length ? ` (${heads.map((h) => h.name).join(", ")})` : ""}` +
          `: mark exactly one node of each replica as head (nodes[].replica says which replica a node serves)`,
      );
  }
}

function servingRules(s: Cluster["serving"], nodeCount: number | undefined, issue: Issue): void {
  // Parallelism (the node count is known even when a node is malformed); replicas split the nodes.
  const perReplica = nodeCount === undefined ? undefined : nodeCount / s.replicas;
  const tp = s.tensorParallelSize ?? Math.floor((perReplica ?? 0) / s.pipelineParallelSize);
  if (nodeCount !== undefined && tp * s.pipelineParallelSize * s.replicas !== nodeCount) {
    issue(
      ["serving", "tensorParallelSize"],
      s.replicas > 1
        ? `x pipelineParallelSize x replicas is ${tp} x ${s.pipelineParallelSize} x ${s.replicas} = ${tp * s.pipelineParallelSize * s.replicas}` +
            `, but there are ${nodeCount} nodes (one GB10 each)` +
            `: make the product equal the node count`
        : `x pipelineParallelSize is ${tp} x ${s.pipelineParallelSize} = ${tp * s.pipelineParallelSize}` +
            `, but there are ${nodeCount} nodes (one GB10 each): make the product equal the node count`,
    );
  }

  // Utilisation.
  if (s.gpuMemoryUtilization >= 0.85 && !s.acknowledgeHighUtilization) {
    issue(
      ["serving", "gpuMemoryUtilization"],
      `is ${s.gpuMemoryUtilization}: 0.85 leaves ~1 GB free per node and a load burst freezes the host` +
        `; use 0.80 (0.82 on a clean dedicated node)` +
        `, or set serving.acknowledgeHighUtilization: true`,
    );
  }

  // Watchdog spacing.
  if (s.watchdog.maxBackoffSeconds < s.watchdog.minRestartIntervalSeconds) {
    issue(
      ["serving", "watchdog", "maxBackoffSeconds"],
      `is ${s.watchdog.maxBackoffSeconds} s, below minRestartIntervalSeconds (${s.watchdog.minRestartIntervalSeconds} s)` +
        `: the longest wait between restarts cannot be shorter than the shortest`,
    );
  }

  // Auth.
  if (s.apiKey && s.allowUnauthenticated) {
    issue(["serving", "allowUnauthenticated"], "is true while serving.apiKey is set: remove one of them");
  }
  // A key given as a value is checked here; one given as an Output when it resolves (components/common.ts).
  const raw: unknown = s.apiKey;
  const key = raw instanceof Secret ? raw.reveal() : raw;
  const keyProblem = typeof key === "string" ? apiKeyProblem(key) : undefined;
  if (keyProblem) issue(["serving", "apiKey"], keyProblem);

  // Custom profile completeness.
  if (typeof s.profile === "object" && !s.profile.base) {
    for (const f of ["maxModelLen", "maxNumSeqs", "maxNumBatchedTokens"] as const) {
      if (s.profile[f] === undefined)
        issue(
          ["serving", "profile", f],
          `is required when serving.profile.base is not set (or set base: ${PROFILE_NAMES.join(" | ")})`,
        );
    }
  }

  // Extra args and env may not shadow what the plan sets.
  s.extraArgs.forEach((a, i) => {
    const flag = a.split("=")[0] as string;
    if (MANAGED_FLAGS.includes(flag)) {
      issue(
        ["serving", "extraArgs", i],
        `sets ${flag}, which the plan already sets: use the matching serving or profile field instead`,
      );
    }
  });
  for (const k of Object.keys(s.extraEnv)) {
    const from = MANAGED_ENV[k];
    if (from) issue(["serving", "extraEnv", k], `is set by the plan from ${from}: change that instead`);
  }
}

function observabilityRules(c: RuleInput, issue: Issue): void {
  const o = c.observability;
  if (!o?.enabled) return;
  // Every listener shares the head's host network: two on one port and one of them fails to start.
  const taken = new Map<number, string>();
  if (c.serving) taken.set(c.serving.port, "serving.port");
  for (const k of ["prometheus", "alertmanager", "grafana", "nodeExporter"] as const) {
    const other = taken.get(o[k].port);
    if (other) issue(["observability", k, "port"], `is ${o[k].port}, already used by ${other}: pick another port`);
    else taken.set(o[k].port, `observability.${k}.port`);
  }
}

function routerRules(c: RuleInput, issue: Issue): void {
  const s = c.serving;
  if (!s?.router.enabled) return;
  const r = s.router;
  const nodes = (c.nodes ?? []).filter((n) => n !== undefined);
  const complete = c.nodes?.every((n) => n !== undefined) ?? false;
  if (r.node !== undefined && complete && !nodes.some((n) => n.name === r.node)) {
    issue(
      ["serving", "router", "node"],
      `is '${r.node}', which is not a node: use one of ${nodes.map((n) => n.name).join(", ")}, or leave it out (the first replica's head)`,
    );
  }
  // The ports on the router's node; the engine's and observability's listen on heads (host network).
  const node = r.node ?? nodes.find((n) => n.role === "head" && (n.replica ?? 0) === 0)?.name;
  const onHead = node === undefined || nodes.some((n) => n.name === node && n.role === "head");
  const taken = new Map<number, string>();
  if (onHead) {
    taken.set(s.port, "serving.port (the engine's API)");
    if (c.link) taken.set(c.link.masterPort, "link.masterPort (the ranks' rendezvous)");
    const o = c.observability;
    if (o?.enabled)
      for (const k of ["prometheus", "alertmanager", "grafana", "nodeExporter"] as const)
        taken.set(o[k].port, `observability.${k}.port`);
  } else if (c.observability?.enabled) {
    taken.set(c.observability.nodeExporter.port, "observability.nodeExporter.port");
  }
  for (const k of ["port", "metricsPort"] as const) {
    const other = taken.get(r[k]);
    if (other)
      issue(
        ["serving", "router", k],
        `is ${r[k]}, already used by ${other} on ${node ?? "the router's node"}: pick another port for the router`,
      );
    else taken.set(r[k], `serving.router.${k}`);
  }
}

function imageRules(image: Cluster["image"], issue: Issue): void {
  // Pinned vLLM ref.
  if (image.source === "build" && !image.allowUnpinned && !PATTERNS.pinnedRef.re.test(image.vllmRef)) {
    issue(
      ["image", "vllmRef"],
      `'${image.vllmRef}' is a branch, not a pinned commit or tag (newer commits regressed): pin the commit you validated, or set image.allowUnpinned: true`,
    );
  }
}
