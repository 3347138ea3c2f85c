/**
 * The coordinated watchdog (issue #7; RECIPE.md "Host hardening" and "Beyond the recipe": restart
 * loops on GB10 are dangerous). A long-running bash service on the head that
 *   - probes every rank: container state on every node, the lost-rank log signatures (a rank's
 *     heartbeat/TCPStore errors, "no route to host", EngineDeadError), `/health` and a one-token
 *     chat completion;
 *   - restarts ALL ranks together, in the launcher's order (mp: workers first, head last; Ray: the
 *     head first, the workers rejoin it), with the drop-caches sidecar on every node while the
 *     engine loads, removed once `/v1/models` answers or the attempt fails;
 *   - never restarts faster than the engine boots (a least interval, doubled after each failed
 *     attempt up to a maximum), at most N times per hour (then it stops every rank, says so and
 *     exits 3 until an operator resumes it), and never starts the engine while a node's free
 *     memory is below what the engine needs to start (it says so and waits);
 *   - logs one line per action (journald: `journalctl -u dgx-spark-vllm-watchdog`);
 *   - can be paused for maintenance (`dgx-spark-vllm-watchdog pause|resume|status`).
 * It restarts the containers Pulumi created (`docker stop` / `docker start`: same image, argv,
 * env and secrets); it never creates one. Pure: everything here is rendered text and data.
 */
import type { ClusterConfig } from "../config/schema";
import type { ConfigProblem } from "../config/errors";
import { hostScript } from "../shell/host";
import { shellJoin } from "../shell/quote";
import { sh } from "../shell/sh";
import { removeManagedFile, script, scriptIn, writeManagedFile, undoScriptIn } from "../shell/script";
import { accessFunction, sshAccess, type NodeAccess } from "./access";
import type { MemoryPlan } from "./memory";
import { dropCachesName, dropCachesRunArgv } from "./service";
import { DEFAULT_NAMES } from "./names";
import type { ClusterPlan, HostNames, HostStep, WatchdogPlan } from "./types";

export type { WatchdogPlan } from "./types";

/** The names of a cluster without an instance name; a cluster's own are in `plan.watchdog` (src/plan/names.ts). */
export const WATCHDOG_UNIT = DEFAULT_NAMES.watchdogUnit;
export const WATCHDOG_SCRIPT = `${DEFAULT_NAMES.libDir}/watchdog.sh`;
/** The operator's command (`pause`, `resume`, `status`): a wrapper around the script. */
export const WATCHDOG_BIN = DEFAULT_NAMES.watchdogBin;
export const WATCHDOG_SERVICE_FILE = `/etc/systemd/system/${WATCHDOG_UNIT}.service`;
/** State: restart history, pause and gave-up markers, the API key header (0600). */
export const WATCHDOG_STATE_DIR = `${DEFAULT_NAMES.stateDir}/watchdog`;
/** The one environment override the script honours: its state folder (rehearsals use a scratch folder; src/host/watchdog.sh). */
export const WATCHDOG_DIR_ENV = "DGX_SPARK_VLLM_WATCHDOG_DIR";
/** Exit status after giving up (systemd does not restart it: RestartPreventExitStatus). */
export const WATCHDOG_GAVE_UP_EXIT = 3;
/** Rough cold boot of the engine (RECIPE.md: ~80 s with instanttensor); spacing below this warns. */
export const ENGINE_BOOT_S = 80;

/**
 * Log lines that mean a rank is lost while its container still runs (RECIPE.md: the freeze is
 * silent; the other rank logs `ProcessGroupNCCL ... HeartbeatMonitor ... TCPStore server has shut
 * down`, the head goes "no route to host"), plus vLLM's engine death.
 */
export const LOST_RANK_SIGNATURES: readonly string[] = [
  "TCPStore server has shut down",
  "ProcessGroupNCCL.*HeartbeatMonitor",
  "[Nn]o route to host",
  "EngineDeadError",
];

/** The watchdog's settings and order from the config (pure), with warnings about risky timing. */
export function watchdogPlan(
  config: ClusterConfig,
  memory: MemoryPlan,
  names: HostNames = DEFAULT_NAMES,
): { plan: WatchdogPlan; warnings: ConfigProblem[] } {
  const w = config.serving.watchdog;
  const head = config.nodes.find((n) => n.role === "head");
  if (!head) throw new Error("watchdogPlan: the config has no head");
  const workers = config.nodes.filter((n) => n !== head).map((n) => n.name);
  const restartOrder = config.serving.launcher === "ray" ? [head.name, ...workers] : [...workers, head.name];
  const minFreeGiB = Object.fromEntries(
    config.nodes.map((n) => [n.name, w.minFreeGiB ?? memory.nodes.find((b) => b.node === n.name)?.start.needsGiB ?? 0]),
  );
  const warnings: ConfigProblem[] = [];
  if (w.enabled && w.minRestartIntervalSeconds < ENGINE_BOOT_S + 10) {
    warnings.push({
      path: "serving.watchdog.minRestartIntervalSeconds",
      message:
        `is ${w.minRestartIntervalSeconds} s: restarts may start faster than the engine boots` +
        ` (~${ENGINE_BOOT_S} s plus the weight load)` +
        `; a fast restart loop on GB10 once leaked unified memory until the hosts froze`,
    });
  }
  if (w.enabled && w.bootTimeoutSeconds < 2 * ENGINE_BOOT_S) {
    warnings.push({
      path: "serving.watchdog.bootTimeoutSeconds",
      message: `is ${w.bootTimeoutSeconds} s: a healthy boot (~${ENGINE_BOOT_S} s plus the weight load) may be declared failed`,
    });
  }
  return {
    plan: {
      enabled: w.enabled,
      unit: names.watchdogUnit,
      script: `${names.libDir}/watchdog.sh`,
      bin: names.watchdogBin,
      stateDir: `${names.stateDir}/watchdog`,
      runAs: (head.ssh.user ?? config.ssh.user) as string,
      probeIntervalSeconds: w.probeIntervalSeconds,
      probeTimeoutSeconds: w.probeTimeoutSeconds,
      failuresBeforeRestart: w.failuresBeforeRestart,
      bootTimeoutSeconds: w.bootTimeoutSeconds,
      minRestartIntervalSeconds: w.minRestartIntervalSeconds,
      maxBackoffSeconds: w.maxBackoffSeconds,
      maxRestartsPerHour: w.maxRestartsPerHour,
      stopTimeoutSeconds: w.stopTimeoutSeconds,
      restartOrder,
      stopOrder: [...restartOrder].reverse(),
      minFreeGiB,
      signatures: LOST_RANK_SIGNATURES,
    },
    warnings,
  };
}

/**
 * The watchdog itself: the variable block and the node access block in front of src/host/lib.sh
 * and src/host/watchdog.sh. `access` is the one seam (how the head reaches each node); the
 * rehearsal renders it with every node on the local Docker engine, nothing else differs.
 */
export function watchdogScript(plan: ClusterPlan, access: NodeAccess = sshAccess(plan)): string {
  const w = plan.watchdog;
  const byName = new Map(plan.nodes.map((n) => [n.name, n]));
  const node = (name: string) => {
    const n = byName.get(name);
    if (!n) throw new Error(`watchdog: node ${name} is not in the plan`);
    return n;
  };
  const probeBody = JSON.stringify({
    model: plan.model.servedName,
    messages: [{ role: "user", content: "Reply with OK." }],
    max_tokens: 1,
    temperature: 0,
    chat_template_kwargs: { thinking: false },
  });
  const sidecars = plan.hardening.dropCachesDuringLoad ? w.restartOrder : [];
  const perNode = (names: readonly string[], f: (n: string) => string | number) => new Map(names.map((n) => [n, f(n)]));
  return hostScript({
    head: [
      "#!/bin/bash",
      `# Managed by dgx-spark-vllm: the coordinated watchdog of the TP=${plan.cluster.tensorParallelSize} service (docs/operations.md "The watchdog").`,
      "# Usage: dgx-spark-vllm-watchdog [run | pause [reason] | resume | status]",
      "# It restarts the containers Pulumi created (docker stop/start), every rank together, in order.",
      "set -uo pipefail",
    ],
    vars: {
      STATE_DIR: w.stateDir,
      UNIT: w.unit,
      PROBE_INTERVAL: w.probeIntervalSeconds,
      PROBE_TIMEOUT: w.probeTimeoutSeconds,
      FAILURES_BEFORE_RESTART: w.failuresBeforeRestart,
      BOOT_TIMEOUT: w.bootTimeoutSeconds,
      MIN_RESTART_INTERVAL: w.minRestartIntervalSeconds,
      MAX_BACKOFF: w.maxBackoffSeconds,
      MAX_RESTARTS_PER_HOUR: w.maxRestartsPerHour,
      STOP_TIMEOUT: w.stopTimeoutSeconds,
      POLL: Math.min(5, w.probeIntervalSeconds),
      HOLD_WAIT: holdWaitSeconds(plan),
      BASE: `http://127.0.0.1:${plan.cluster.port}`,
      SERVED: plan.model.servedName,
      MAX_MODEL_LEN: plan.profile.maxModelLen,
      START_ORDER: w.restartOrder,
      STOP_ORDER: w.stopOrder,
      CONTAINER: perNode(w.restartOrder, (n) => node(n).container.name),
      MIN_FREE_KB: perNode(w.restartOrder, (n) => Math.ceil((w.minFreeGiB[n] ?? 0) * 1048576)),
      SIDECAR: perNode(sidecars, (n) => dropCachesName(node(n), plan.names)),
      SIDECAR_RUN: perNode(sidecars, (n) => shellJoin(dropCachesRunArgv(plan, node(n)))),
      SIGNATURES: w.signatures.join("|"),
      PROBE_BODY: probeBody,
    },
    access: accessFunction(plan, access),
    files: ["lib.sh", "watchdog.sh"],
  });
}

/**
 * How long `hold` waits for a restart in progress to let go of the ranks: a restart notices a hold
 * between its steps, the longest being every rank's `docker stop -t` and one free-memory poll.
 */
export function holdWaitSeconds(plan: ClusterPlan): number {
  const w = plan.watchdog;
  return w.stopTimeoutSeconds * plan.nodes.length + w.probeIntervalSeconds + 10;
}

/** The systemd unit: long-running, starts at boot after docker, not restarted after it gave up. */
export function watchdogUnit(plan: ClusterPlan): string {
  const w = plan.watchdog;
  return [
    "[Unit]",
    `Description=dgx-spark-vllm coordinated watchdog (ranks ${w.restartOrder.join(", ")})`,
    "After=docker.service network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `User=${w.runAs}`,
    `ExecStart=${w.script} run`,
    "Restart=on-failure",
    "RestartSec=30",
    `RestartPreventExitStatus=${WATCHDOG_GAVE_UP_EXIT}`,
    `SyslogIdentifier=${w.unit}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
  ].join("\n");
}

/**
 * Install the watchdog on the head as a systemd service (enabled: survives reboots). stdin: the
 * API key (or nothing); it is stored in a header file only the service user can read, never in a
 * script. Re-running it (a new deployment) clears a gave-up state and the restart history; a
 * pause set by an operator stays. Delete stops and removes everything it wrote.
 */
export function watchdogStep(plan: ClusterPlan): HostStep {
  const w = plan.watchdog;
  const dir = w.stateDir;
  const user = w.runAs;
  const header = `${dir}/auth-header`;
  const unit = `${w.unit}.service`;
  const serviceFile = `/etc/systemd/system/${unit}`;
  const wrapper = [
    "#!/bin/bash",
    "# Managed by dgx-spark-vllm: the watchdog's operator command (pause | resume | status | hold | unhold).",
    sh`exec ${w.script} "$@"`,
  ].join("\n");
  return {
    id: "watchdog",
    description:
      `coordinated watchdog on ${plan.cluster.head}: systemd service ${w.unit},` +
      ` probes every ${w.probeIntervalSeconds} s, restarts ${w.restartOrder.join(" -> ")}` +
      `, at most ${w.maxRestartsPerHour} per hour (API key read on stdin)`,
    create: scriptIn(
      plan.names.journal,
      // stdin: the API key or nothing. Read before anything else consumes stdin.
      "key=; IFS= read -r key || true",
      writeManagedFile(w.script, watchdogScript(plan), "0755"),
      writeManagedFile(w.bin, wrapper, "0755"),
      writeManagedFile(serviceFile, watchdogUnit(plan)),
      sh`$SUDO install -d -m 0750 -o ${user} ${dir}`,
      sh`if [ -n "$key" ]; then printf 'Authorization: Bearer %s\\n' "$key" | $SUDO tee ${header} >/dev/null; else $SUDO truncate -s 0 ${header}; fi`,
      sh`$SUDO chown ${user} ${header} && $SUDO chmod 0600 ${header}`,
      sh`$SUDO rm -f ${`${dir}/gave-up`} ${`${dir}/restarts`}`,
      "$SUDO systemctl daemon-reload",
      sh`$SUDO systemctl enable ${unit}`,
      sh`$SUDO systemctl restart ${unit}`,
      sh`echo ${`dgx-spark-vllm: watchdog installed on ${plan.cluster.head}: journalctl -u ${w.unit}`}`,
    ),
    delete: undoScriptIn(
      plan.names.journal,
      sh`$SUDO systemctl disable --now ${unit} 2>/dev/null || true`,
      removeManagedFile(serviceFile),
      removeManagedFile(w.bin),
      removeManagedFile(w.script),
      sh`$SUDO rm -rf ${dir}`,
      "$SUDO systemctl daemon-reload",
    ),
    after: [],
  };
}

/** How far past the readiness timeout an update's hold on the watchdog lasts at most (container replacement itself). */
export const HOLD_MARGIN_S = 600;

/**
 * The update's bounded pause of the watchdog (issue #13): before `pulumi up` replaces a rank's
 * container, `hold` the watchdog on the head so it neither probes nor restarts while the ranks come
 * and go (a restart in progress lets go of the ranks first). It expires by itself after
 * `seconds` (the readiness timeout plus HOLD_MARGIN_S), so an update that fails half-way never
 * leaves the watchdog paused; `watchdogUnholdScript` ends it as soon as readiness passed. Delete
 * (and a replacement, which deletes first) ends it too. No watchdog installed yet (the first
 * `pulumi up`): nothing to hold.
 */
export function watchdogHoldStep(plan: ClusterPlan, seconds: number): HostStep {
  const bin = plan.watchdog.bin;
  const head = plan.nodes.find((n) => n.name === plan.cluster.head)?.container.name ?? "";
  return {
    id: "watchdog-hold",
    description:
      `hold the watchdog on ${plan.cluster.head} for at most ${seconds} s` +
      ` while pulumi up replaces containers (released once ready), and stop the running head rank first`,
    create: script(
      sh`if [ -x ${bin} ]; then ${bin} hold ${seconds} ${"pulumi up replacing containers"};` +
        sh` else echo ${`dgx-spark-vllm: no watchdog on ${plan.cluster.head} yet: nothing to hold`}; fi`,
      // Every rank is replaced together (their generation label), workers first: a new worker must
      // not join the old head's rendezvous, which ends when the head is replaced. So the old head
      // stops here, before any container is replaced (held, the watchdog does not restart it).
      sh`if [ "$(docker inspect -f '{{.State.Running}}' ${head} 2>/dev/null)" = true ];` +
        sh` then docker stop -t 30 ${head} >/dev/null && echo ` +
        sh`${`dgx-spark-vllm: stopped ${head} on ${plan.cluster.head}: the ranks are replaced together`}; fi`,
    ),
    delete: script(sh`if [ -x ${bin} ]; then ${bin} unhold; fi`),
    after: [],
  };
}

/** End the update's hold once readiness passed (the watchdog probes again at once). */
export function watchdogUnholdScript(plan: ClusterPlan): string {
  const bin = plan.watchdog.bin;
  return script(
    sh`if [ -x ${bin} ]; then ${bin} unhold; echo ${`dgx-spark-vllm: watchdog on ${plan.cluster.head} probing again`}; fi`,
  );
}
