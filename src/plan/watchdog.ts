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
import { shellJoin, shq } from "../shell/quote";
import { removeManagedFile, script, writeManagedFile, undoScript } from "../shell/script";
import { accessFunction, sshAccess, type NodeAccess } from "./access";
import type { MemoryPlan } from "./memory";
import { dropCachesName, dropCachesRunArgv } from "./service";
import type { ClusterPlan, HostStep } from "./types";

export const WATCHDOG_UNIT = "dgx-spark-vllm-watchdog";
export const WATCHDOG_SCRIPT = "/usr/local/lib/dgx-spark-vllm/watchdog.sh";
/** The operator's command (`pause`, `resume`, `status`): a wrapper around the script. */
export const WATCHDOG_BIN = "/usr/local/bin/dgx-spark-vllm-watchdog";
export const WATCHDOG_SERVICE_FILE = `/etc/systemd/system/${WATCHDOG_UNIT}.service`;
/** State: restart history, pause and gave-up markers, the API key header (0600). */
export const WATCHDOG_STATE_DIR = "/var/lib/dgx-spark-vllm/watchdog";
/** The one environment override the script honours: its state folder (rehearsals use a scratch folder). */
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

/** The watchdog's settings and order from the config (pure), with warnings about risky timing. */
export function watchdogPlan(config: ClusterConfig, memory: MemoryPlan): { plan: WatchdogPlan; warnings: ConfigProblem[] } {
  const w = config.serving.watchdog;
  const head = config.nodes.find((n) => n.role === "head");
  if (!head) throw new Error("watchdogPlan: the config has no head");
  const workers = config.nodes.filter((n) => n !== head).map((n) => n.name);
  const restartOrder = config.serving.launcher === "ray" ? [head.name, ...workers] : [...workers, head.name];
  const minFreeGiB = Object.fromEntries(config.nodes.map((n) => [n.name, w.minFreeGiB ?? memory.nodes.find((b) => b.node === n.name)?.start.needsGiB ?? 0]));
  const warnings: ConfigProblem[] = [];
  if (w.enabled && w.minRestartIntervalSeconds < ENGINE_BOOT_S + 10) {
    warnings.push({ path: "serving.watchdog.minRestartIntervalSeconds", message: `is ${w.minRestartIntervalSeconds} s: restarts may start faster than the engine boots (~${ENGINE_BOOT_S} s plus the weight load); a fast restart loop on GB10 once leaked unified memory until the hosts froze` });
  }
  if (w.enabled && w.bootTimeoutSeconds < 2 * ENGINE_BOOT_S) {
    warnings.push({ path: "serving.watchdog.bootTimeoutSeconds", message: `is ${w.bootTimeoutSeconds} s: a healthy boot (~${ENGINE_BOOT_S} s plus the weight load) may be declared failed` });
  }
  return {
    plan: {
      enabled: w.enabled,
      unit: WATCHDOG_UNIT,
      script: WATCHDOG_SCRIPT,
      stateDir: WATCHDOG_STATE_DIR,
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

/** bash associative-array literal from a map of safe keys to values (each shell-quoted). */
function assoc(name: string, entries: readonly (readonly [string, string])[]): string {
  return `declare -A ${name}=(${entries.map(([k, v]) => `[${shq(k)}]=${shq(v)}`).join(" ")})`;
}

/**
 * The watchdog itself (bash). `access` is the one seam (how the head reaches each node); the
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
  const probeBody = JSON.stringify({ model: plan.model.servedName, messages: [{ role: "user", content: "Reply with OK." }], max_tokens: 1, temperature: 0, chat_template_kwargs: { thinking: false } });
  const sidecars = plan.hardening.dropCachesDuringLoad ? w.restartOrder : [];
  const poll = Math.min(5, w.probeIntervalSeconds);
  const lines = [
    "#!/bin/bash",
    `# Managed by dgx-spark-vllm: the coordinated watchdog of the TP=${plan.cluster.tensorParallelSize} service (README "Watchdog").`,
    "# Usage: dgx-spark-vllm-watchdog [run | pause [reason] | resume | status]",
    "# It restarts the containers Pulumi created (docker stop/start), every rank together, in order.",
    "set -uo pipefail",
    `DIR="\${${WATCHDOG_DIR_ENV}:-${WATCHDOG_STATE_DIR}}"`,
    `UNIT=${WATCHDOG_UNIT}`,
    `PROBE_INTERVAL=${w.probeIntervalSeconds}`,
    `PROBE_TIMEOUT=${w.probeTimeoutSeconds}`,
    `FAILURES_BEFORE_RESTART=${w.failuresBeforeRestart}`,
    `BOOT_TIMEOUT=${w.bootTimeoutSeconds}`,
    `MIN_RESTART_INTERVAL=${w.minRestartIntervalSeconds}`,
    `MAX_BACKOFF=${w.maxBackoffSeconds}`,
    `MAX_RESTARTS_PER_HOUR=${w.maxRestartsPerHour}`,
    `STOP_TIMEOUT=${w.stopTimeoutSeconds}`,
    `POLL=${poll}`,
    `BASE=http://127.0.0.1:${plan.cluster.port}`,
    `SERVED=${shq(plan.model.servedName)}`,
    `MAX_MODEL_LEN=${plan.profile.maxModelLen}`,
    `START_ORDER=(${w.restartOrder.map(shq).join(" ")})`,
    `STOP_ORDER=(${w.stopOrder.map(shq).join(" ")})`,
    assoc("CONTAINER", w.restartOrder.map((n) => [n, node(n).container.name])),
    assoc("MIN_FREE_KB", w.restartOrder.map((n) => [n, String(Math.ceil((w.minFreeGiB[n] ?? 0) * 1048576))])),
    assoc("SIDECAR", sidecars.map((n) => [n, dropCachesName(node(n))])),
    assoc("SIDECAR_RUN", sidecars.map((n) => [n, shellJoin(dropCachesRunArgv(plan, node(n)))])),
    `SIG_Q=${shq(shq(w.signatures.join("|")))}`,
    `MEMINFO_CMD=${shq("awk '/^MemAvailable:/ {print $2}' /proc/meminfo")}`,
    `PROBE_BODY=${shq(probeBody)}`,
    "",
    accessFunction(plan, access),
    "",
    String.raw`log() { echo "dgx-spark-vllm watchdog: $*"; }
now() { date +%s; }
nap() { sleep "$1" & wait $! 2>/dev/null; }
gib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1048576 }'; }
oneline() { tr '\n' ' ' | cut -c1-"\${1:-300}"; }
NOTE=""
note() { if [ "$1" != "$NOTE" ]; then log "$1"; NOTE=$1; fi; }

status() {
  if [ -e "$DIR/gave-up" ]; then echo "gave up: $(cat "$DIR/gave-up")"; elif [ -e "$DIR/paused" ]; then echo "paused: $(cat "$DIR/paused")"; else echo "active"; fi
  local cutoff=$(( $(now) - 3600 )) c=0 t
  if [ -e "$DIR/restarts" ]; then while read -r t; do [ "$t" -gt "$cutoff" ] 2>/dev/null && c=$((c + 1)); done < "$DIR/restarts"; fi
  echo "restarts in the last hour: $c of $MAX_RESTARTS_PER_HOUR"
}

case "\${1:-run}" in
  run) ;;
  pause)
    mkdir -p "$DIR" && printf '%s\n' "\${2:-maintenance} (since $(date -u +%FT%TZ), by \${SUDO_USER:-\${USER:-$(id -un)}})" > "$DIR/paused" || exit 1
    log "paused: \${2:-maintenance}: no probes and no restarts until: $0 resume"; exit 0 ;;
  resume)
    gave_up=0; [ -e "$DIR/gave-up" ] && gave_up=1
    rm -f "$DIR/paused" "$DIR/gave-up" "$DIR/restarts" || exit 1
    log "resumed: probing again, with a fresh restart budget"
    if [ "$gave_up" = 1 ] && command -v systemctl >/dev/null 2>&1 && systemctl cat "$UNIT.service" >/dev/null 2>&1; then
      if [ "$(id -u)" -eq 0 ]; then systemctl restart "$UNIT.service"; else sudo -n systemctl restart "$UNIT.service" || log "start it again: sudo systemctl restart $UNIT"; fi
    fi
    exit 0 ;;
  status) status; exit 0 ;;
  *) echo "usage: $0 [run | pause [reason] | resume | status]" >&2; exit 2 ;;
esac

mkdir -p "$DIR" || exit 1
exec 9>"$DIR/lock"
flock -n 9 || { log "another watchdog holds $DIR/lock: exiting"; exit 1; }
if [ -e "$DIR/gave-up" ]; then log "gave up earlier ($(cat "$DIR/gave-up")): not probing or restarting until an operator runs: $0 resume"; exit 3; fi
HDR="$DIR/auth-header"
[ -e "$HDR" ] || { : > "$HDR"; chmod 600 "$HDR"; }
touch "$DIR/restarts"

FAILS=0; NOTE="starting"; CONSEC_FAILED=0; RESTARTING=0; PAUSED=0; LAST_READY=0; SINCE=$(( $(now) - 2 ))

sidecars_start() {
  local n
  for n in "\${START_ORDER[@]}"; do
    [ -n "\${SIDECAR_RUN[$n]:-}" ] || continue
    if out=$(on_node "$n" "docker rm -f \${SIDECAR[$n]} >/dev/null 2>&1; \${SIDECAR_RUN[$n]} >/dev/null" 2>&1 </dev/null); then log "drop-caches sidecar started on $n"; else log "could not start the drop-caches sidecar on $n (continuing without it): $(printf '%s' "$out" | oneline)"; fi
  done
}
sidecars_stop() {
  local n
  for n in "\${START_ORDER[@]}"; do
    [ -n "\${SIDECAR[$n]:-}" ] || continue
    on_node "$n" "docker rm -f \${SIDECAR[$n]} >/dev/null 2>&1 || true" </dev/null >/dev/null 2>&1 || log "could not reach $n to remove its drop-caches sidecar (it expires on its own)"
  done
}
on_exit() { if [ "$RESTARTING" = 1 ]; then log "stopping in the middle of a restart: removing the drop-caches sidecars"; sidecars_stop; fi; }
trap on_exit EXIT
trap 'exit 0' TERM INT

# inspect NODE: sets ST (running, exited, ..., missing, unreachable), EXITC, STARTED, INFO.
inspect() {
  local out rc
  out=$(on_node "$1" "docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.StartedAt}}' \${CONTAINER[$1]}" 2>&1 </dev/null); rc=$?
  ST=; EXITC=; STARTED=; INFO=
  if [ "$rc" -eq 255 ]; then ST=unreachable; INFO=$(printf '%s' "$out" | tail -n 1 | oneline); return; fi
  if [ "$rc" -ne 0 ]; then ST=missing; INFO=$(printf '%s' "$out" | tail -n 1 | oneline); return; fi
  read -r ST EXITC STARTED <<<"$out"
}
last_log() { on_node "$1" "docker logs --tail 3 \${CONTAINER[$1]} 2>&1" </dev/null 2>&1 | oneline 400; }

# probe: /health, then a one-token completion. Sets PROBE_ERR on failure.
probe() {
  local code out
  code=$(curl -s -o /dev/null -w '%{http_code}' -m "$PROBE_TIMEOUT" "$BASE/health" 2>/dev/null) || true
  if [ "$code" != 200 ]; then
    if [ -z "$code" ] || [ "$code" = 000 ]; then PROBE_ERR="/health: no answer within $PROBE_TIMEOUT s"; else PROBE_ERR="/health: HTTP $code"; fi
    return 1
  fi
  out=$(curl -s -m "$PROBE_TIMEOUT" -H @"$HDR" -H 'Content-Type: application/json' -d "$PROBE_BODY" -w '\nHTTP %{http_code}' "$BASE/v1/chat/completions" 2>&1)
  case "$out" in *'"choices"'*'HTTP 200') return 0 ;; esac
  case "$out" in *'HTTP 000') PROBE_ERR="one-token completion: no answer within $PROBE_TIMEOUT s" ;; *) PROBE_ERR="one-token completion: $(printf '%s' "$out" | oneline 200)" ;; esac
  return 1
}

# check: 0 when healthy; otherwise KIND (exit, signature, probe, booting, unreachable, missing) and REASON.
check() {
  local n t newest=0 since hit
  for n in "\${START_ORDER[@]}"; do
    inspect "$n"
    case "$ST" in
      running) t=$(date -d "$STARTED" +%s 2>/dev/null || echo 0); [ "$t" -gt "$newest" ] && newest=$t ;;
      unreachable) KIND=unreachable; REASON="$n is unreachable ($INFO)"; return 1 ;;
      missing) KIND=missing; REASON="$n: container \${CONTAINER[$n]} does not exist ($INFO): the watchdog restarts containers, it does not create them (run pulumi up)"; return 1 ;;
      *) KIND=exit; REASON="$n: container \${CONTAINER[$n]} is $ST (exit code $EXITC); last log: $(last_log "$n")"; return 1 ;;
    esac
  done
  since=$SINCE; SINCE=$(( $(now) - 2 ))
  for n in "\${START_ORDER[@]}"; do
    hit=$(on_node "$n" "docker logs --since $since \${CONTAINER[$n]} 2>&1 | grep -E -m 1 -e $SIG_Q" 2>/dev/null </dev/null | oneline 300)
    if [ -n "$hit" ]; then KIND=signature; REASON="$n logs a lost-rank signature: $hit"; return 1; fi
  done
  probe && return 0
  if [ "$newest" -gt "$LAST_READY" ] && [ $(( $(now) - newest )) -lt "$BOOT_TIMEOUT" ]; then
    KIND=booting; REASON="a rank started $(( $(now) - newest )) s ago and the engine has not answered yet ($PROBE_ERR); waiting up to $BOOT_TIMEOUT s"; return 1
  fi
  KIND=probe; REASON=$PROBE_ERR; return 1
}

stop_ranks() {
  local n out
  for n in "\${STOP_ORDER[@]}"; do
    if out=$(on_node "$n" "docker stop -t $STOP_TIMEOUT \${CONTAINER[$n]}" 2>&1 </dev/null); then log "stopped $n"; else log "could not stop $n: $(printf '%s' "$out" | oneline)"; fi
  done
}

# wait_memory: every node has the free memory the engine needs to start, or REASON_MEM after BOOT_TIMEOUT.
wait_memory() {
  local deadline=$(( $(now) + BOOT_TIMEOUT )) n kb low
  while :; do
    low=""
    for n in "\${START_ORDER[@]}"; do
      kb=$(on_node "$n" "$MEMINFO_CMD" 2>/dev/null </dev/null)
      if ! [[ "$kb" =~ ^[0-9]+$ ]]; then low="$low; $n: cannot read its free memory"; continue; fi
      if [ "$kb" -lt "\${MIN_FREE_KB[$n]}" ]; then low="$low; $n has $(gib "$kb") GiB available but the engine needs $(gib "\${MIN_FREE_KB[$n]}") GiB to start"; fi
    done
    [ -z "$low" ] && return 0
    if [ "$(now)" -ge "$deadline" ]; then REASON_MEM="free memory stayed below what the engine needs for $BOOT_TIMEOUT s\${low}"; return 1; fi
    log "refusing to start the engine\${low}; waiting (restarting into low memory once leaked unified memory until the hosts froze)"
    nap "$PROBE_INTERVAL"
  done
}

# wait_ready: every rank keeps running and /v1/models reports MAX_MODEL_LEN and a completion answers; else READY_ERR.
wait_ready() {
  local deadline=$(( $(now) + BOOT_TIMEOUT )) n last="no answer yet" code body got
  while :; do
    for n in "\${START_ORDER[@]}"; do
      inspect "$n"
      if [ "$ST" != running ]; then READY_ERR="$n stopped while the engine was loading ($ST, exit code \${EXITC:-?}): $(last_log "$n")"; return 1; fi
    done
    code=$(curl -s -o /dev/null -w '%{http_code}' -m "$PROBE_TIMEOUT" "$BASE/health" 2>/dev/null) || true
    if [ "$code" = 200 ]; then
      if body=$(curl -fsS -m "$PROBE_TIMEOUT" -H @"$HDR" "$BASE/v1/models" 2>&1); then
        got=$(printf '%s' "$body" | tr -d ' \n' | grep -o "\"id\":\"$SERVED\"[^}]*\"max_model_len\":[0-9]*" | grep -o '[0-9]*$' | awk 'NR == 1')
        if [ "$got" = "$MAX_MODEL_LEN" ]; then
          if probe; then return 0; fi
          last=$PROBE_ERR
        else last="/v1/models reports max_model_len='$got' for $SERVED, expected $MAX_MODEL_LEN"; fi
      else last="/v1/models: $(printf '%s' "$body" | oneline 200)"; fi
    else last="/health: HTTP \${code:-none}"; fi
    if [ "$(now)" -ge "$deadline" ]; then READY_ERR="not ready after $BOOT_TIMEOUT s (last: $last)"; return 1; fi
    nap "$POLL"
  done
}

spacing() {
  local g=$MIN_RESTART_INTERVAL i=0
  while [ "$i" -lt "$CONSEC_FAILED" ] && [ "$g" -lt "$MAX_BACKOFF" ]; do g=$((g * 2)); i=$((i + 1)); done
  [ "$g" -gt "$MAX_BACKOFF" ] && g=$MAX_BACKOFF
  echo "$g"
}
restarts_last_hour() {
  local cutoff=$(( $(now) - 3600 )) t kept=""
  while read -r t; do [ "$t" -gt "$cutoff" ] 2>/dev/null && kept="$kept$t"$'\n'; done < "$DIR/restarts"
  printf '%s' "$kept" > "$DIR/restarts.new" && mv -f "$DIR/restarts.new" "$DIR/restarts"
  wc -l < "$DIR/restarts" | tr -d ' '
}

give_up() {
  log "giving up: $1 restart(s) in the last hour reached the cap (maxRestartsPerHour=$MAX_RESTARTS_PER_HOUR); last problem: $2"
  log "stopping every rank so a wedged engine does not hold unified memory; the service stays down until an operator runs: $0 resume"
  stop_ranks
  sidecars_stop
  printf '%s\n' "$(date -u +%FT%TZ): $2" > "$DIR/gave-up"
  exit 3
}

restart_failed() {
  log "restart failed: $1"
  stop_ranks
  sidecars_stop
  RESTARTING=0; CONSEC_FAILED=$((CONSEC_FAILED + 1)); FAILS=0; NOTE=""
  log "drop-caches sidecars removed; ranks stopped; the next restart waits at least $(spacing) s after this one began"
}

restart_all() {
  local t0 count n out
  t0=$(now); echo "$t0" >> "$DIR/restarts"; count=$(wc -l < "$DIR/restarts" | tr -d ' ')
  log "restart $count of at most $MAX_RESTARTS_PER_HOUR this hour: $1"
  RESTARTING=1
  stop_ranks
  if ! wait_memory; then restart_failed "$REASON_MEM"; return; fi
  sidecars_start
  for n in "\${START_ORDER[@]}"; do
    if out=$(on_node "$n" "docker start \${CONTAINER[$n]}" 2>&1 </dev/null); then log "started $n"; else restart_failed "could not start $n: $(printf '%s' "$out" | oneline)"; return; fi
  done
  if wait_ready; then
    sidecars_stop
    RESTARTING=0; CONSEC_FAILED=0; FAILS=0; NOTE=""; LAST_READY=$(now); SINCE=$(( LAST_READY - 1 ))
    log "ready: $SERVED answers with max_model_len=$MAX_MODEL_LEN $(( $(now) - t0 )) s after the restart began; drop-caches sidecars removed"
  else
    restart_failed "$READY_ERR"
  fi
  SINCE=$(( $(now) - 1 ))
}

# want_restart REASON: restart now, or wait out the spacing, or give up past the hourly cap.
want_restart() {
  local count last gap left
  count=$(restarts_last_hour)
  if [ "$count" -ge "$MAX_RESTARTS_PER_HOUR" ]; then give_up "$count" "$1"; fi
  last=$(tail -n 1 "$DIR/restarts" 2>/dev/null); last=\${last:-0}
  gap=$(spacing); left=$(( last + gap - $(now) ))
  if [ "$left" -gt 0 ]; then note "restart needed ($1), waiting: the last restart began $(( $(now) - last )) s ago and restarts are at least $gap s apart (after $CONSEC_FAILED failed restart(s))"; return; fi
  restart_all "$1"
}

log "started: ranks \${START_ORDER[*]} (started in this order), probing every $PROBE_INTERVAL s, restart after $FAILURES_BEFORE_RESTART failed probes or at once when a rank exits or logs a lost-rank signature; at most $MAX_RESTARTS_PER_HOUR restarts per hour, at least $MIN_RESTART_INTERVAL s apart"
while :; do
  if [ -e "$DIR/paused" ]; then
    [ "$PAUSED" = 1 ] || log "paused ($(cat "$DIR/paused" 2>/dev/null)): not probing or restarting; resume with: $0 resume"
    PAUSED=1; FAILS=0; nap "$PROBE_INTERVAL"; continue
  fi
  if [ "$PAUSED" = 1 ]; then log "resumed: probing again"; PAUSED=0; NOTE=""; SINCE=$(( $(now) - 2 )); fi
  if check; then
    if [ "$FAILS" -gt 0 ] || [ -n "$NOTE" ]; then log "healthy: $SERVED answers"; fi
    FAILS=0; NOTE=""; LAST_READY=$(now)
  else
    case "$KIND" in
      exit|signature) want_restart "$REASON" ;;
      probe)
        FAILS=$((FAILS + 1))
        log "probe failed ($FAILS of $FAILURES_BEFORE_RESTART): $REASON"
        if [ "$FAILS" -ge "$FAILURES_BEFORE_RESTART" ]; then want_restart "the engine did not answer $FAILS probes in a row ($REASON)"; fi ;;
      booting) note "booting: $REASON" ;;
      *) note "cannot restart: $REASON; waiting" ;;
    esac
  fi
  nap "$PROBE_INTERVAL"
done`.replace(/\\\$\{/g, "${"),
  ];
  return lines.join("\n") + "\n";
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
    `ExecStart=${WATCHDOG_SCRIPT} run`,
    "Restart=on-failure",
    "RestartSec=30",
    `RestartPreventExitStatus=${WATCHDOG_GAVE_UP_EXIT}`,
    `SyslogIdentifier=${WATCHDOG_UNIT}`,
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
  const dir = shq(WATCHDOG_STATE_DIR);
  const user = shq(w.runAs);
  const wrapper = ["#!/bin/bash", "# Managed by dgx-spark-vllm: the watchdog's operator command (pause | resume | status).", `exec ${WATCHDOG_SCRIPT} "$@"`].join("\n");
  return {
    id: "watchdog",
    description: `coordinated watchdog on ${plan.cluster.head}: systemd service ${WATCHDOG_UNIT}, probes every ${w.probeIntervalSeconds} s, restarts ${w.restartOrder.join(" -> ")}, at most ${w.maxRestartsPerHour} per hour (API key read on stdin)`,
    create: script(
      // stdin: the API key or nothing. Read before anything else consumes stdin.
      "key=; IFS= read -r key || true",
      writeManagedFile(WATCHDOG_SCRIPT, watchdogScript(plan), "0755"),
      writeManagedFile(WATCHDOG_BIN, wrapper, "0755"),
      writeManagedFile(WATCHDOG_SERVICE_FILE, watchdogUnit(plan)),
      `$SUDO install -d -m 0750 -o ${user} ${dir}`,
      `if [ -n "$key" ]; then printf 'Authorization: Bearer %s\\n' "$key" | $SUDO tee ${dir}/auth-header >/dev/null; else $SUDO truncate -s 0 ${dir}/auth-header; fi`,
      `$SUDO chown ${user} ${dir}/auth-header && $SUDO chmod 0600 ${dir}/auth-header`,
      `$SUDO rm -f ${dir}/gave-up ${dir}/restarts`,
      "$SUDO systemctl daemon-reload",
      `$SUDO systemctl enable ${WATCHDOG_UNIT}.service`,
      `$SUDO systemctl restart ${WATCHDOG_UNIT}.service`,
      `echo ${shq(`dgx-spark-vllm: watchdog installed on ${plan.cluster.head}: journalctl -u ${WATCHDOG_UNIT}`)}`,
    ),
    delete: undoScript(
      `$SUDO systemctl disable --now ${WATCHDOG_UNIT}.service 2>/dev/null || true`,
      removeManagedFile(WATCHDOG_SERVICE_FILE),
      removeManagedFile(WATCHDOG_BIN),
      removeManagedFile(WATCHDOG_SCRIPT),
      `$SUDO rm -rf ${dir}`,
      "$SUDO systemctl daemon-reload",
    ),
    after: [],
  };
}
