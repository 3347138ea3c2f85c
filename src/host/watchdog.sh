#!/usr/bin/env bash
# The coordinated watchdog (src/plan/watchdog.ts renders it; docs/operations.md "The watchdog"). Usage:
#   dgx-spark-vllm-watchdog [run | pause [reason] | resume | status | hold SECONDS [reason] | unhold]
# It restarts the containers Pulumi created (docker stop/start), every rank together, in order.
# Inputs, rendered in front of this file: STATE_DIR UNIT PROBE_INTERVAL PROBE_TIMEOUT
# FAILURES_BEFORE_RESTART BOOT_TIMEOUT MIN_RESTART_INTERVAL MAX_BACKOFF MAX_RESTARTS_PER_HOUR
# STOP_TIMEOUT POLL HOLD_WAIT BASE SERVED MAX_MODEL_LEN PROBE_BODY SIGNATURES (an extended regex),
# START_ORDER and STOP_ORDER (node names), and per node: CONTAINER, MIN_FREE_KB, SIDECAR (the
# drop-caches container name) and SIDECAR_RUN (its rendered `docker run` line); on_node (the node
# access block) and lib.sh (oneline, model_ready). Sourcing this file defines the functions only.

log() { echo "dgx-spark-vllm watchdog: $*"; }
now() { date +%s; }
nap() { sleep "$1" & wait $! 2>/dev/null; }
gib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1048576 }'; }
NOTE=""
note() { if [ "$1" != "$NOTE" ]; then log "$1"; NOTE=$1; fi; }

# held: 0 while a bounded pause (`hold`: pulumi up replacing containers) is in force, its reason in
# HELD_REASON and its end in HELD_UNTIL; an expired one is removed, said once in the log, and the
# watchdog goes on: an update that failed half-way never leaves it paused.
held() {
  local until reason
  [ -e "$DIR/held" ] || return 1
  read -r until reason < "$DIR/held" 2>/dev/null || true
  if [[ "$until" =~ ^[0-9]+$ ]] && [ "$(now)" -lt "$until" ]; then HELD_UNTIL=$until; HELD_REASON=$reason; return 0; fi
  rm -f "$DIR/held"
  log "the hold (${reason:-no reason given}) expired without an unhold: probing again"
  return 1
}
# interrupted: an operator's pause or an update's hold arrived (a restart in progress stops where it is).
interrupted() { [ -e "$DIR/paused" ] || held; }

# hold SECONDS REASON: pause for at most SECONDS (it expires by itself), then wait (at most
# HOLD_WAIT s) until a restart in progress has noticed it and let go of the ranks.
hold() {
  local secs=$1 i
  if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then echo "usage: $0 hold SECONDS [reason]" >&2; return 2; fi
  mkdir -p "$DIR" &&
    printf '%s %s\n' "$(( $(now) + secs ))" "${2:-update} (by ${SUDO_USER:-${USER:-$(id -un)}})" > "$DIR/held.new" &&
    mv -f "$DIR/held.new" "$DIR/held" || return 1
  log "held for at most $secs s (${2:-update}): no probes and no restarts until: $0 unhold (or the hold expires)"
  for ((i = 0; i < HOLD_WAIT; i++)); do [ -e "$DIR/restarting" ] || return 0; nap 1; done
  log "a restart still looks in progress after $HOLD_WAIT s ($DIR/restarting): going on"
}

status() {
  if [ -e "$DIR/gave-up" ]; then echo "gave up: $(cat "$DIR/gave-up")"
  elif [ -e "$DIR/paused" ]; then echo "paused: $(cat "$DIR/paused")"
  elif held; then echo "held until $(date -u -d "@$HELD_UNTIL" +%FT%TZ): $HELD_REASON"
  else echo "active"; fi
  local cutoff c=0 t
  cutoff=$(( $(now) - 3600 ))
  if [ -e "$DIR/restarts" ]; then while read -r t; do [ "$t" -gt "$cutoff" ] 2>/dev/null && c=$((c + 1)); done < "$DIR/restarts"; fi
  echo "restarts in the last hour: $c of $MAX_RESTARTS_PER_HOUR"
}

sidecars_start() {
  local n out
  for n in "${START_ORDER[@]}"; do
    [ -n "${SIDECAR_RUN[$n]:-}" ] || continue
    if out=$(on_node "$n" "docker rm -f ${SIDECAR[$n]@Q} >/dev/null 2>&1; ${SIDECAR_RUN[$n]} >/dev/null" 2>&1 </dev/null); then
      log "drop-caches sidecar started on $n"
    else
      log "could not start the drop-caches sidecar on $n (continuing without it): $(printf '%s' "$out" | oneline)"
    fi
  done
}
sidecars_stop() {
  local n
  for n in "${START_ORDER[@]}"; do
    [ -n "${SIDECAR[$n]:-}" ] || continue
    on_node "$n" "docker rm -f ${SIDECAR[$n]@Q} >/dev/null 2>&1 || true" </dev/null >/dev/null 2>&1 ||
      log "could not reach $n to remove its drop-caches sidecar (it expires on its own)"
  done
}
on_exit() {
  if [ "$RESTARTING" = 1 ]; then
    log "stopping in the middle of a restart: removing the drop-caches sidecars"; sidecars_stop; rm -f "$DIR/restarting"
  fi
}

# inspect NODE: sets ST (running, exited, ..., missing, unreachable), EXITC, STARTED, INFO.
inspect() {
  local out rc
  out=$(on_node "$1" "docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.StartedAt}}' ${CONTAINER[$1]@Q}" 2>&1 </dev/null); rc=$?
  ST=; EXITC=; STARTED=; INFO=
  if [ "$rc" -eq 255 ]; then ST=unreachable; INFO=$(printf '%s' "$out" | tail -n 1 | oneline); return; fi
  if [ "$rc" -ne 0 ]; then ST=missing; INFO=$(printf '%s' "$out" | tail -n 1 | oneline); return; fi
  read -r ST EXITC STARTED <<<"$out"
}
last_log() { on_node "$1" "docker logs --tail 3 ${CONTAINER[$1]@Q} 2>&1" </dev/null 2>&1 | oneline 400; }

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
  case "$out" in
    *'HTTP 000') PROBE_ERR="one-token completion: no answer within $PROBE_TIMEOUT s" ;;
    *) PROBE_ERR="one-token completion: $(printf '%s' "$out" | oneline 200)" ;;
  esac
  return 1
}

# check: 0 when healthy; otherwise KIND (exit, signature, probe, booting, unreachable, missing) and REASON.
check() {
  local n t newest=0 since hit
  for n in "${START_ORDER[@]}"; do
    inspect "$n"
    case "$ST" in
      running) t=$(date -d "$STARTED" +%s 2>/dev/null || echo 0); [ "$t" -gt "$newest" ] && newest=$t ;;
      unreachable) KIND=unreachable; REASON="$n is unreachable ($INFO)"; return 1 ;;
      missing)
        KIND=missing
        REASON="$n: container ${CONTAINER[$n]} does not exist ($INFO): the watchdog restarts containers, it does not create them (run pulumi up)"
        return 1 ;;
      *) KIND="exit"; REASON="$n: container ${CONTAINER[$n]} is $ST (exit code $EXITC); last log: $(last_log "$n")"; return 1 ;;
    esac
  done
  since=$SINCE; SINCE=$(( $(now) - 2 ))
  for n in "${START_ORDER[@]}"; do
    hit=$(on_node "$n" "docker logs --since $since ${CONTAINER[$n]@Q} 2>&1 | grep -E -m 1 -e ${SIGNATURES@Q}" 2>/dev/null </dev/null | oneline 300)
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
  for n in "${STOP_ORDER[@]}"; do
    if out=$(on_node "$n" "docker stop -t $STOP_TIMEOUT ${CONTAINER[$n]@Q}" 2>&1 </dev/null); then log "stopped $n"
    else log "could not stop $n: $(printf '%s' "$out" | oneline)"; fi
  done
}

# wait_memory: every node has the free memory the engine needs to start, or REASON_MEM after BOOT_TIMEOUT.
wait_memory() {
  local deadline n kb low
  deadline=$(( $(now) + BOOT_TIMEOUT ))
  while :; do
    if interrupted; then return 2; fi
    low=""
    for n in "${START_ORDER[@]}"; do
      kb=$(on_node "$n" "awk '/^MemAvailable:/ {print \$2}' /proc/meminfo" 2>/dev/null </dev/null)
      if ! [[ "$kb" =~ ^[0-9]+$ ]]; then low="$low; $n: cannot read its free memory"; continue; fi
      if [ "$kb" -lt "${MIN_FREE_KB[$n]}" ]; then
        low="$low; $n has $(gib "$kb") GiB available but the engine needs $(gib "${MIN_FREE_KB[$n]}") GiB to start"
      fi
    done
    [ -z "$low" ] && return 0
    if [ "$(now)" -ge "$deadline" ]; then REASON_MEM="free memory stayed below what the engine needs for $BOOT_TIMEOUT s${low}"; return 1; fi
    log "refusing to start the engine${low}; waiting (restarting into low memory once leaked unified memory until the hosts froze)"
    nap "$PROBE_INTERVAL"
  done
}

# wait_ready: every rank keeps running and /v1/models reports MAX_MODEL_LEN and a completion answers; else READY_ERR.
wait_ready() {
  local deadline n last="no answer yet"
  deadline=$(( $(now) + BOOT_TIMEOUT ))
  while :; do
    if interrupted; then return 2; fi
    for n in "${START_ORDER[@]}"; do
      inspect "$n"
      if [ "$ST" != running ]; then READY_ERR="$n stopped while the engine was loading ($ST, exit code ${EXITC:-?}): $(last_log "$n")"; return 1; fi
    done
    if model_ready "$BASE" "$HDR" "$PROBE_TIMEOUT" "$PROBE_TIMEOUT" "$SERVED" "$MAX_MODEL_LEN"; then
      if probe; then return 0; fi
      last=$PROBE_ERR
    else
      last=$(printf '%s' "$READY_LAST" | oneline 200)
    fi
    if [ "$(now)" -ge "$deadline" ]; then READY_ERR="not ready after $BOOT_TIMEOUT s (last: $last)"; return 1; fi
    nap "$POLL"
  done
}

# spacing: seconds between restart starts: MIN_RESTART_INTERVAL, doubled per failed restart in a row, at most MAX_BACKOFF.
spacing() {
  local g=$MIN_RESTART_INTERVAL i=0
  while [ "$i" -lt "$CONSEC_FAILED" ] && [ "$g" -lt "$MAX_BACKOFF" ]; do g=$((g * 2)); i=$((i + 1)); done
  [ "$g" -gt "$MAX_BACKOFF" ] && g=$MAX_BACKOFF
  echo "$g"
}
# restarts_last_hour: drop restart times older than an hour from $DIR/restarts; print how many are left.
restarts_last_hour() {
  local cutoff t kept=""
  cutoff=$(( $(now) - 3600 ))
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
  RESTARTING=0; CONSEC_FAILED=$((CONSEC_FAILED + 1)); FAILS=0; NOTE=""; rm -f "$DIR/restarting"
  log "drop-caches sidecars removed; ranks stopped; the next restart waits at least $(spacing) s after this one began"
}

# restart_abandoned: a pause or hold arrived mid-restart: remove the sidecars and leave the ranks
# as they are to whoever paused (pulumi up is replacing them, or an operator is at work).
restart_abandoned() {
  sidecars_stop
  RESTARTING=0; FAILS=0; NOTE=""; rm -f "$DIR/restarting"
  log "restart abandoned: paused or held while restarting; drop-caches sidecars removed, the ranks are left as they are"
}

restart_all() {
  local t0 count n out rc
  t0=$(now); echo "$t0" >> "$DIR/restarts"; count=$(wc -l < "$DIR/restarts" | tr -d ' ')
  log "restart $count of at most $MAX_RESTARTS_PER_HOUR this hour: $1"
  RESTARTING=1; : > "$DIR/restarting"
  if interrupted; then restart_abandoned; return; fi
  stop_ranks
  wait_memory; rc=$?
  if [ "$rc" = 2 ]; then restart_abandoned; return; fi
  if [ "$rc" != 0 ]; then restart_failed "$REASON_MEM"; return; fi
  sidecars_start
  for n in "${START_ORDER[@]}"; do
    if interrupted; then restart_abandoned; return; fi
    if out=$(on_node "$n" "docker start ${CONTAINER[$n]@Q}" 2>&1 </dev/null); then log "started $n"
    else restart_failed "could not start $n: $(printf '%s' "$out" | oneline)"; return; fi
  done
  wait_ready; rc=$?
  if [ "$rc" = 0 ]; then
    sidecars_stop
    RESTARTING=0; CONSEC_FAILED=0; FAILS=0; NOTE=""; LAST_READY=$(now); SINCE=$(( LAST_READY - 1 )); rm -f "$DIR/restarting"
    log "ready: $SERVED answers with max_model_len=$MAX_MODEL_LEN $(( $(now) - t0 )) s after the restart began; drop-caches sidecars removed"
  elif [ "$rc" = 2 ]; then
    restart_abandoned
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
  last=$(tail -n 1 "$DIR/restarts" 2>/dev/null); last=${last:-0}
  gap=$(spacing); left=$(( last + gap - $(now) ))
  if [ "$left" -gt 0 ]; then
    local why="the last restart began $(( $(now) - last )) s ago and restarts are at least $gap s apart"
    note "restart needed ($1), waiting: $why (after $CONSEC_FAILED failed restart(s))"
    return
  fi
  restart_all "$1"
}

main() {
  DIR="${DGX_SPARK_VLLM_WATCHDOG_DIR:-$STATE_DIR}"
  case "${1:-run}" in
    run) ;;
    pause)
      mkdir -p "$DIR" && printf '%s\n' "${2:-maintenance} (since $(date -u +%FT%TZ), by ${SUDO_USER:-${USER:-$(id -un)}})" > "$DIR/paused" || exit 1
      log "paused: ${2:-maintenance}: no probes and no restarts until: $0 resume"; exit 0 ;;
    hold) hold "${2:-}" "${3:-}"; exit $? ;;
    unhold)
      if [ -e "$DIR/held" ]; then rm -f "$DIR/held" || exit 1; log "unheld: probing again"; fi
      exit 0 ;;
    resume)
      local gave_up=0; [ -e "$DIR/gave-up" ] && gave_up=1
      rm -f "$DIR/paused" "$DIR/held" "$DIR/gave-up" "$DIR/restarts" || exit 1
      log "resumed: probing again, with a fresh restart budget"
      if [ "$gave_up" = 1 ] && command -v systemctl >/dev/null 2>&1 && systemctl cat "$UNIT.service" >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then systemctl restart "$UNIT.service"
        else sudo -n systemctl restart "$UNIT.service" || log "start it again: sudo systemctl restart $UNIT"; fi
      fi
      exit 0 ;;
    status) status; exit 0 ;;
    *) echo "usage: $0 [run | pause [reason] | resume | status | hold SECONDS [reason] | unhold]" >&2; exit 2 ;;
  esac

  mkdir -p "$DIR" || exit 1
  exec 9>"$DIR/lock"
  flock -n 9 || { log "another watchdog holds $DIR/lock: exiting"; exit 1; }
  if [ -e "$DIR/gave-up" ]; then log "gave up earlier ($(cat "$DIR/gave-up")): not probing or restarting until an operator runs: $0 resume"; exit 3; fi
  HDR="$DIR/auth-header"
  [ -e "$HDR" ] || { : > "$HDR"; chmod 600 "$HDR"; }
  touch "$DIR/restarts"
  rm -f "$DIR/restarting"

  FAILS=0; NOTE="starting"; CONSEC_FAILED=0; RESTARTING=0; PAUSED=0; LAST_READY=0; SINCE=$(( $(now) - 2 ))
  trap on_exit EXIT
  trap 'exit 0' TERM INT

  local policy="restart after $FAILURES_BEFORE_RESTART failed probes or at once when a rank exits or logs a lost-rank signature"
  policy+="; at most $MAX_RESTARTS_PER_HOUR restarts per hour, at least $MIN_RESTART_INTERVAL s apart"
  log "started: ranks ${START_ORDER[*]} (started in this order), probing every $PROBE_INTERVAL s, $policy"
  while :; do
    if [ -e "$DIR/paused" ]; then
      [ "$PAUSED" = 1 ] || log "paused ($(cat "$DIR/paused" 2>/dev/null)): not probing or restarting; resume with: $0 resume"
      PAUSED=1; FAILS=0; nap "$PROBE_INTERVAL"; continue
    fi
    if held; then
      [ "$PAUSED" = 1 ] || log "held until $(date -u -d "@$HELD_UNTIL" +%FT%TZ) ($HELD_REASON): not probing or restarting"
      PAUSED=1; FAILS=0; nap "$(( PROBE_INTERVAL < 5 ? PROBE_INTERVAL : 5 ))"; continue
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
  done
}

# Run only when executed (the installed service, the operator command); sourcing defines the functions.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
