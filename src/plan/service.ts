import { sh } from "../shell/sh";
import { hostScript } from "../shell/host";
import { fail, script, undoScript } from "../shell/script";
import { accessFunction, sshAccess, type NodeAccess } from "./access";
import { OWNER_LABEL } from "./container";
import { DEFAULT_NAMES, holderFunctions, underHoldersLock, sidecarName } from "./names";
import type { ClusterPlan, HostNames, HostStep, NodePlan } from "./types";
import { weightsStep, type WeightsStep } from "./weights";

/** A read-only check run on a node: fails with a message naming the node and the check. */
export interface NodeCheck {
  readonly id: string;
  readonly description: string;
  readonly script: string;
}

/** GB10's compute capability (sm_121). */
export const REQUIRED_COMPUTE_CAP = "12.1";
/** Weights on disk (~149 GB, RECIPE.md) with margin, GB. */
export const WEIGHTS_DISK_GB = 160;
/** The sm_121 image, GB (a CUDA devel base plus the build). */
export const IMAGE_DISK_GB = 40;

/** The model's folder in a node's Hugging Face cache (`<hf>/hub/models--<org>--<name>`). */
export function modelCacheDir(plan: ClusterPlan, node: NodePlan): string {
  return `${node.cache.huggingface}/hub/models--${plan.model.id.replace(/\//g, "--")}`;
}

/** First step: the host answers over SSH and runs bash. */
export function reachableScript(node: Pick<NodePlan, "name">): string {
  return script(sh`echo ${`dgx-spark-vllm: node ${node.name} reachable`} "$(uname -n)"`);
}

/** Preflight checks (read-only), RECIPE.md "Hardware" and the doctor checks of other launchers. */
export function preflightChecks(plan: ClusterPlan, node: NodePlan): NodeCheck[] {
  const n = node.name;
  const netdevChecks = node.dataPlane.map(
    (p) =>
      // Read the whole output first: with pipefail, grep -q closing the pipe early can fail the pipeline (SIGPIPE).
      sh`grep -Eq ${`^${p.hca} port [0-9]+ ==> ${p.netdev} \\(Up\\)`} <<<"$(ibdev2netdev)"` +
      sh` || ${fail(n, "preflight netdev", `${p.hca} ==> ${p.netdev} is not Up in ibdev2netdev: check the cable and the port`)}`,
  );
  const modelDir = modelCacheDir(plan, node);
  // Messages that show values read on the host name the node through $node.
  const nodeVar = sh`node=${n}`;
  const noNvidiaRuntime = fail(
    n,
    "preflight docker",
    "the NVIDIA container runtime is not registered with docker: " +
      "install nvidia-container-toolkit and run nvidia-ctk runtime configure --runtime=docker",
  );
  return [
    {
      id: "gpu",
      description: `GPU is a GB10 with compute capability ${REQUIRED_COMPUTE_CAP}`,
      script: script(
        `command -v nvidia-smi >/dev/null || ${fail(n, "preflight gpu", "nvidia-smi not found: install the NVIDIA driver (DGX OS ships it)")}`,
        "gpu=$(nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader | awk 'NR == 1')",
        nodeVar,
        sh`cap=${REQUIRED_COMPUTE_CAP}`,
        `case "$gpu" in *GB10*", $cap") ;;` +
          ` *) echo "dgx-spark-vllm: node $node: preflight gpu: expected a GB10 with compute capability $cap` +
          `, found '$gpu'" >&2; exit 1;; esac`,
        'echo "$gpu"',
      ),
    },
    {
      id: "arch",
      description: "CPU is Arm64 (aarch64)",
      script: script(
        nodeVar,
        '[ "$(uname -m)" = aarch64 ] || { echo "dgx-spark-vllm: node $node: preflight arch: expected aarch64, found $(uname -m)" >&2; exit 1; }',
        "uname -m",
      ),
    },
    {
      id: "docker",
      description: "docker answers and has the NVIDIA container runtime",
      script: script(
        `docker info >/dev/null 2>&1 || ` +
          `${fail(n, "preflight docker", "docker does not answer for this user: install docker and add the user to the docker group")}`,
        `grep -q nvidia <<<"$(docker info --format '{{json .Runtimes}}')" || ${noNvidiaRuntime}`,
        "docker version --format '{{.Server.Version}}'",
      ),
    },
    {
      id: "netdev",
      description: `data-plane ports Up in ibdev2netdev: ${node.dataPlane.map((p) => `${p.hca} ==> ${p.netdev}`).join(", ")}`,
      script: script(
        `command -v ibdev2netdev >/dev/null || ${fail(n, "preflight netdev", "ibdev2netdev not found: install the MLNX/DOCA OFED tools")}`,
        ...netdevChecks,
      ),
    },
    knownBadCheck(plan, node),
    {
      id: "disk",
      description:
        `free disk under ${node.cache.huggingface} for the weights (~${WEIGHTS_DISK_GB} GB, less what is already cached)` +
        ` plus the image (~${IMAGE_DISK_GB} GB)`,
      script: script(
        nodeVar,
        // delivery local: the weights are already on the node (model.localPath).
        sh`weights=${plan.model.delivery === "local" ? 0 : WEIGHTS_DISK_GB}; image=${IMAGE_DISK_GB}`,
        sh`d=${node.cache.huggingface}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done`,
        sh`cached=0; if [ -d ${modelDir} ]; then cached=$(du -s -BG -L ${modelDir} | awk '{print int($1)}'); fi`,
        "need=$(( (weights - cached > 0 ? weights - cached : 0) + image ))",
        `avail=$(df -P -BG "$d" | awk 'NR==2 {print int($4)}')`,
        '[ "$avail" -ge "$need" ] || { echo "dgx-spark-vllm: node $node: preflight disk: $avail GB free under $d, need $need GB' +
          ' (weights $weights GB less $cached GB cached, image $image GB)" >&2; exit 1; }',
        'echo "$avail GB free, need $need GB"',
      ),
    },
  ];
}

/**
 * The known-bad host versions (src/models/host-versions.ts, listed in plan.hardening.knownBad):
 * a node running one fails preflight with what breaks, the fix and the source, unless the config
 * acknowledges it (`hardening.acknowledgeKnownBad`), when it only warns on stderr.
 */
export function knownBadCheck(plan: ClusterPlan, node: NodePlan): NodeCheck {
  const n = node.name;
  const lines = plan.hardening.knownBad.map((k) => {
    const what = `kernel ${k.version}: ${k.breaks} (${k.source})`;
    return k.acknowledged
      ? sh`if [ "$kr" = ${k.version} ]; then echo ` +
          sh`${`dgx-spark-vllm: node ${n}: preflight kernel: WARNING ${what}; acknowledged in hardening.acknowledgeKnownBad (${k.id})`} >&2; fi`
      : sh`if [ "$kr" = ${k.version} ]; then ` +
          sh`${fail(n, "preflight kernel", `${what}: ${k.fix}, or accept it with hardening.acknowledgeKnownBad: [${k.id}]`)}; fi`;
  });
  return {
    id: "kernel",
    description: `kernel is not a known-bad version (${plan.hardening.knownBad.map((k) => k.version).join(", ") || "none listed"})`,
    script: script("kr=$(uname -r)", ...lines, 'echo "$kr"'),
  };
}

/** The image's ID on a node (stdout), failing with a clear message when it is missing. */
export function imageIdScript(plan: ClusterPlan, node: NodePlan): string {
  return script(
    sh`docker image inspect --format '{{.Id}}' ${plan.image.tag} 2>/dev/null || ${fail(node.name, "image", `image ${plan.image.tag} is not present`)}`,
  );
}

function imageJournalKey(tag: string): string {
  return `image%${tag.replace(/[/:@]/g, "%")}`;
}

/**
 * Record on `node` what the image tag pointed at before we put our image there (its image ID, or
 * that it was absent), and for a prebuilt image pull it. This is the undo of everything that
 * changes the tag on the node: the pull, the source build, and the `docker save | docker load`
 * transfer (which runs after it). Delete puts the tag back on the previous image when that image
 * is still there, or removes the tag when it was absent before (or its old image is gone). The tag
 * is one per host, so it is held like the other shared settings: the last cluster using it
 * restores it (src/plan/names.ts).
 */
export function imagePresenceStep(plan: ClusterPlan, node: NodePlan): HostStep {
  const tag = plan.image.tag;
  const jkey = imageJournalKey(tag);
  const key = sh`k="$J"/${jkey}`;
  const pull =
    plan.image.source === "prebuilt"
      ? [
          sh`docker image inspect ${tag} >/dev/null 2>&1 || docker pull ${tag} || ${fail(node.name, "image-pull", `docker pull ${plan.image.tag} failed`)}`,
        ]
      : [];
  return {
    id: plan.image.source === "prebuilt" ? "image-pull" : "image-journal",
    description:
      plan.image.source === "prebuilt"
        ? `pull ${plan.image.tag} (on delete the tag goes back to the image it named before, or is removed if there was none)`
        : `note which image ${plan.image.tag} names before ours is built or loaded (on delete the tag goes back to it, or is removed if there was none)`,
    create: script(
      ...holderFunctions(plan.names),
      key,
      ...underHoldersLock(
        sh`if [ ! -e "$k.present" ] && [ ! -e "$k.absent" ];` +
          sh` then if prev=$(docker image inspect --format '{{.Id}}' ${tag} 2>/dev/null);` +
          sh` then printf '%s\\n' "$prev" | $SUDO tee "$k.present" >/dev/null; else $SUDO touch "$k.absent"; fi; fi`,
        sh`hold ${jkey}`,
      ),
      ...pull,
    ),
    delete: undoScript(
      ...holderFunctions(plan.names),
      key,
      sh`if release ${jkey}; then`,
      sh`  cur=$(docker image inspect --format '{{.Id}}' ${tag} 2>/dev/null || true); prev=$(cat "$k.present" 2>/dev/null || true)`,
      '  if [ -e "$k.absent" ]; then',
      sh`    if [ -n "$cur" ]; then docker image rm ${tag} >/dev/null 2>&1 || true; fi`,
      '  elif [ -n "$prev" ] && [ "$cur" != "$prev" ]; then',
      '    if docker image inspect "$prev" >/dev/null 2>&1; then',
      sh`      if [ -n "$cur" ]; then docker image rm ${tag} >/dev/null 2>&1 || true; fi`,
      sh`      docker tag "$prev" ${tag}`,
      sh`      echo ${`dgx-spark-vllm: node ${node.name}: ${tag} names its previous image again:`} "$prev"`,
      "    else",
      sh`      echo ${`dgx-spark-vllm: node ${node.name}: ${tag} named`} "$prev" ${`before, which is gone: removing the tag`} >&2`,
      sh`      docker image rm ${tag} >/dev/null 2>&1 || true`,
      "    fi",
      "  fi",
      '  $SUDO rm -f "$k.absent" "$k.present"',
      "fi",
    ),
    after: [],
  };
}

/** Seconds between two progress lines of the image transfer. */
export const TRANSFER_PROGRESS_INTERVAL_S = 15;

/**
 * Run on the build node: stream the image to `target` (`docker save | ssh docker load`) unless
 * it already has the same image ID, printing a progress line every `intervalS` seconds (bytes,
 * percent of the image's size, rate) to stdout, which `pulumi up` shows as it runs. Uses the
 * build node's own SSH access to the target (RECIPE.md: passwordless SSH head -> worker); `access`
 * is the seam a rehearsal replaces. The tag's previous image on the target is journaled by the
 * target's image-journal step, which runs first; its delete is this transfer's undo.
 */
export function imageTransferScript(
  plan: ClusterPlan,
  from: NodePlan,
  target: NodePlan,
  access: NodeAccess = sshAccess(plan, from.name),
  intervalS = TRANSFER_PROGRESS_INTERVAL_S,
): string {
  return hostScript({
    head: ["set -euo pipefail"],
    vars: {
      TAG: plan.image.tag,
      FROM: from.name,
      TARGET: target.name,
      INTERVAL: intervalS,
      FAIL_MSG: `docker save | ssh ${target.ssh.user}@${target.ssh.host} docker load failed: the head needs passwordless SSH to ${target.name}`,
    },
    access: accessFunction(plan, access),
    files: ["progress.sh", "transfer.sh"],
  });
}

/**
 * The node's weights step for the plan's `model.delivery` (src/plan/weights.ts): download and
 * verify (`each`, the head of `head-then-copy`), copy from the head and verify (the others of
 * `head-then-copy`; runs on the head), or verify the local copy (`local`). stdin of a download:
 * the HF token (or nothing). Weights are data: delete keeps them.
 */
export function prefetchStep(plan: ClusterPlan, node: NodePlan): WeightsStep {
  return weightsStep(plan, node);
}

export const DROP_CACHES_INTERVAL_S = 60;

/** The sidecar's container name on `node` (`names`: the plan's, src/plan/names.ts). */
export function dropCachesName(node: NodePlan, names: HostNames = DEFAULT_NAMES): string {
  return sidecarName(names, node.name);
}

/**
 * How long a drop-caches sidecar may live at most, seconds: the longest load it serves (the
 * readiness gate's default timeout, or the watchdog's boot timeout) plus 5 minutes. After that it
 * exits and `--rm` removes it, so even a run that died before any cleanup leaves nothing behind.
 */
export function dropCachesLifetimeS(plan: ClusterPlan, loadTimeoutS = READINESS_TIMEOUT_S): number {
  return Math.max(loadTimeoutS, plan.watchdog.bootTimeoutSeconds) + 300;
}

/** The sidecar's shell loop: drop the page cache every interval, for at most `lifetimeS` seconds. */
export function dropCachesLoop(lifetimeS: number): string {
  const rounds = Math.ceil(lifetimeS / DROP_CACHES_INTERVAL_S);
  return `n=0; while [ "$n" -lt ${rounds} ]; do sync; echo 3 > /proc/sys/vm/drop_caches; n=$((n+1)); sleep ${DROP_CACHES_INTERVAL_S}; done`;
}

/** `docker run` argv of the sidecar on `node` (the same line the watchdog uses for its restarts). */
export function dropCachesRunArgv(plan: ClusterPlan, node: NodePlan, lifetimeS = dropCachesLifetimeS(plan)): string[] {
  return [
    "docker",
    "run",
    "-d",
    "--rm",
    "--name",
    dropCachesName(node, plan.names),
    "--privileged",
    "--restart",
    "no",
    "--label",
    `${OWNER_LABEL}=true`,
    "--label",
    "dgx-spark-vllm.role=drop-caches",
    "--label",
    `dgx-spark-vllm.node=${node.name}`,
    "--entrypoint",
    "sh",
    plan.image.tag,
    "-c",
    dropCachesLoop(lifetimeS),
  ];
}

/**
 * The drop-caches sidecar (RECIPE.md: page cache competes with ~149 GB of weights loading):
 * privileged, `sync; echo 3 > /proc/sys/vm/drop_caches` every 60 s, on every node during load.
 * `start` (re)starts it; `stop` removes it. It is removed once `/v1/models` answers, on a failed
 * readiness (the gate's exit trap), by the watchdog after each restart, on delete, and at the
 * latest when its lifetime ends (`dropCachesLifetimeS`).
 */
export function dropCachesSidecar(
  plan: ClusterPlan,
  node: NodePlan,
  lifetimeS = dropCachesLifetimeS(plan),
): { readonly name: string; readonly start: string; readonly stop: string } {
  const name = dropCachesName(node, plan.names);
  return {
    name,
    start: script(
      sh`docker rm -f ${name} >/dev/null 2>&1 || true`,
      sh`${dropCachesRunArgv(plan, node, lifetimeS)} >/dev/null || ${fail(node.name, "drop-caches", "could not start the drop-caches sidecar")}`,
    ),
    stop: script(sh`docker rm -f ${name} >/dev/null 2>&1 || true`),
  };
}

export const READINESS_TIMEOUT_S = 1800;
export const READINESS_INTERVAL_S = 10;
/** Seconds between two "still waiting" lines of the readiness gate (it also prints when the pending check changes). */
export const READINESS_PROGRESS_S = 30;

/**
 * Run on the head: poll /health and /v1/models on the local API until the served model reports
 * the profile's max_model_len. stdin: the API key (or nothing); it goes into a header file, never
 * on a command line. On timeout the message names the node, the timeout and the last error.
 * When it fails it removes the drop-caches sidecar of every node before exiting (the head reaches
 * the others through `access`, by default SSH as the image transfer does), so a failed start never
 * leaves a sidecar dropping caches behind; when it passes, the per-node stop steps that wait for it
 * remove them.
 */
export function readinessScript(
  plan: ClusterPlan,
  head: NodePlan,
  timeoutS = READINESS_TIMEOUT_S,
  intervalS = READINESS_INTERVAL_S,
  access: NodeAccess = sshAccess(plan, head.name),
  progressS = READINESS_PROGRESS_S,
): string {
  const sidecars = plan.hardening.dropCachesDuringLoad ? plan.nodes : [];
  return hostScript({
    head: ["set -euo pipefail"],
    vars: {
      NODE: head.name,
      BASE: `http://127.0.0.1:${plan.cluster.port}`,
      SERVED: plan.model.servedName,
      MAX_MODEL_LEN: plan.profile.maxModelLen,
      TIMEOUT: timeoutS,
      INTERVAL: intervalS,
      PROGRESS: progressS,
      SIDECAR_NODES: sidecars.map((n) => n.name),
      SIDECAR: new Map(sidecars.map((n) => [n.name, dropCachesName(n, plan.names)])),
    },
    ...(sidecars.length > 0 ? { access: accessFunction(plan, access) } : {}),
    files: ["lib.sh", "progress.sh", "readiness.sh"],
  });
}
