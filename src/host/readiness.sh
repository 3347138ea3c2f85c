#!/usr/bin/env bash
# The readiness gate (src/plan/service.ts renders it; VllmService runs it on the head): poll
# /health and /v1/models on the local API until the served model reports the profile's
# max_model_len. stdin: the API key (or nothing); it goes into a header file, never on a command
# line. On failure it removes the drop-caches sidecar of every node (reached through on_node).
# While it waits it prints which check is pending and for how long: when the pending check changes
# and every PROGRESS seconds (stdout: `pulumi up` shows it as it runs; the key is never in it).
# Inputs, rendered in front of this file: NODE BASE SERVED MAX_MODEL_LEN TIMEOUT INTERVAL PROGRESS,
# SIDECAR_NODES and SIDECAR (node -> sidecar container; both empty when there are no sidecars),
# on_node (the node access block, when there are sidecars), lib.sh (model_ready) and progress.sh
# (human_seconds).

key=; IFS= read -r key || true
hdr=$(mktemp); chmod 600 "$hdr"
cleanup() {
  local rc=$? n p ok=1 pids=() list
  rm -f "$hdr"
  [ "$rc" -eq 0 ] && return 0 # ready: the per-node stop steps (which wait for this gate) remove the sidecars
  [ "${#SIDECAR_NODES[@]}" -gt 0 ] || return 0
  for n in "${SIDECAR_NODES[@]}"; do
    on_node "$n" "docker rm -f ${SIDECAR[$n]@Q} >/dev/null 2>&1 || true" </dev/null & pids+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || ok=0; done
  printf -v list '%s, ' "${SIDECAR_NODES[@]}"
  if [ "$ok" = 1 ]; then
    echo "dgx-spark-vllm: drop-caches sidecars removed on ${list%, }" >&2
  else
    echo "dgx-spark-vllm: readiness: could not reach every node to remove its drop-caches sidecar (each expires on its own)" >&2
  fi
}
trap cleanup EXIT
if [ -n "$key" ]; then printf 'Authorization: Bearer %s\n' "$key" > "$hdr"; fi
start=$(date +%s); deadline=$(( start + TIMEOUT )); last="no answer yet"; stage=; next=$(( start + PROGRESS ))
echo "readiness on $NODE: waiting up to $(human_seconds "$TIMEOUT") for $SERVED to report max_model_len=$MAX_MODEL_LEN"
while :; do
  if model_ready "$BASE" "$hdr" 5 10 "$SERVED" "$MAX_MODEL_LEN"; then
    echo "ready: $SERVED max_model_len=$MAX_MODEL_LEN after $(human_seconds $(( $(date +%s) - start )))"; exit 0
  fi
  last=$READY_LAST; now=$(date +%s)
  case "$last" in
    "/health:"*) pending="/health to answer 200" ;;
    "/v1/models:"*) pending="/v1/models to answer" ;;
    *) pending="/v1/models to report max_model_len=$MAX_MODEL_LEN" ;;
  esac
  if [ "$pending" != "$stage" ] || [ "$now" -ge "$next" ]; then
    if [ -n "$stage" ] && [ "$pending" != "$stage" ]; then echo "readiness on $NODE: ${stage%% to *} passed after $(human_seconds $(( now - start )))"; fi
    waited="$(human_seconds $(( now - start ))) of $(human_seconds "$TIMEOUT")"
    echo "readiness on $NODE: waiting for $pending, $waited (last: $(printf '%s' "$last" | oneline 160))"
    stage=$pending; next=$(( now + PROGRESS ))
  fi
  if [ "$now" -ge "$deadline" ]; then
    echo "dgx-spark-vllm: node $NODE: readiness: not ready after $TIMEOUT s; last error: $last" >&2
    exit 1
  fi
  sleep "$INTERVAL"
done
