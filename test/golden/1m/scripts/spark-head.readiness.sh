set -euo pipefail
NODE=spark-head
BASE=http://127.0.0.1:8000
SERVED=deepseek-v4
MAX_MODEL_LEN=1000000
TIMEOUT=1800
INTERVAL=10
PROGRESS=30
SIDECAR_NODES=(spark-head spark-worker)
declare -A SIDECAR=([spark-head]=dgx-spark-vllm-drop-caches-spark-head [spark-worker]=dgx-spark-vllm-drop-caches-spark-worker)

# --- node access (the one seam): on_node NODE COMMAND runs the shell COMMAND on NODE ---
on_node() {
  case "$1" in
    spark-head) bash -c "$2" ;;
    spark-worker) ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p 22 spark@spark-worker.local "$2" ;;
    *) echo "dgx-spark-vllm: no access to unknown node $1" >&2; return 2 ;;
  esac
}
# --- end of node access ---

# dgx-spark-vllm host library: functions shared by the scripts that run on a Spark (the readiness
# gate, the watchdog). Inlined into each rendered script; unit tests source it (test/shell).

# oneline [N]: stdin as one line (newlines become spaces), at most N characters (default 300).
oneline() { tr '\n' ' ' | cut -c1-"${1:-300}"; }

# served_max_model_len SERVED: read a /v1/models answer (JSON) on stdin and print max_model_len
# of the model whose id is SERVED; print nothing when there is none or the answer is not JSON.
served_max_model_len() {
  python3 -c '
import json, sys
try:
    models = json.load(sys.stdin).get("data") or []
except Exception:
    sys.exit(0)
for m in models:
    if isinstance(m, dict) and m.get("id") == sys.argv[1]:
        n = m.get("max_model_len")
        if isinstance(n, int) and not isinstance(n, bool):
            print(n)
        break
' "$1"
}

# model_ready BASE HEADER_FILE HEALTH_TIMEOUT MODELS_TIMEOUT SERVED WANT: 0 when BASE/health
# answers 200 and BASE/v1/models (sent with the header file) reports max_model_len WANT for the
# model SERVED; otherwise 1, with what was seen in READY_LAST (for the caller's message).
# shellcheck disable=SC2034 # READY_LAST is the function's output: the caller reads it
model_ready() {
  local base=$1 hdr=$2 health_timeout=$3 models_timeout=$4 served=$5 want=$6 code body got
  code=$(curl -s -o /dev/null -w '%{http_code}' -m "$health_timeout" "$base/health" 2>/dev/null) || true
  if [ "$code" != 200 ]; then READY_LAST="/health: HTTP ${code:-none}"; return 1; fi
  if ! body=$(curl -fsS -m "$models_timeout" -H @"$hdr" "$base/v1/models" 2>&1); then READY_LAST="/v1/models: $body"; return 1; fi
  got=$(printf '%s' "$body" | served_max_model_len "$served") || got=
  if [ "$got" != "$want" ]; then READY_LAST="/v1/models reports max_model_len='$got' for $served, expected $want"; return 1; fi
  return 0
}

# Progress lines a person can follow in `pulumi up` (the command provider shows a command's
# stdout as it runs). Nothing here ever sees a secret: it counts bytes and seconds.

# human_bytes N: 1.2 GB, 340.0 MB, 12.0 KB, 5 B (decimal units, as df -H and docker print).
human_bytes() {
  awk -v b="$1" 'BEGIN {
    split("B KB MB GB TB", u, " "); i = 1; while (b >= 1000 && i < 5) { b /= 1000; i++ }
    if (i == 1) printf "%d B", b; else printf "%.1f %s", b, u[i]
  }'
}

# human_seconds S: 45 s, 3m05s, 1h02m.
human_seconds() {
  local s=$1
  if [ "$s" -lt 60 ]; then echo "$s s"
  elif [ "$s" -lt 3600 ]; then printf '%dm%02ds\n' $((s / 60)) $((s % 60))
  else printf '%dh%02dm\n' $((s / 3600)) $((s % 3600 / 60)); fi
}

# copy_progress TOTAL LABEL INTERVAL FD: copy stdin to stdout unchanged; every INTERVAL seconds,
# and once at the end, write to file descriptor FD a line: LABEL: bytes so far, percent of TOTAL
# (bytes, an estimate: 0 when unknown; never shown above 99% before the end), rate, elapsed time.
copy_progress() {
  python3 -u -c '
import os, sys, time
total, label, every, fd = int(sys.argv[1] or 0), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
out = os.fdopen(fd, "w", buffering=1)
def size(b):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if b < 1000 or unit == "TB":
            return ("%d %s" % (b, unit)) if unit == "B" else ("%.1f %s" % (b, unit))
        b /= 1000.0
def dur(s):
    s = int(s)
    return "%d s" % s if s < 60 else ("%dm%02ds" % (s // 60, s % 60) if s < 3600 else "%dh%02dm" % (s // 3600, s % 3600 // 60))
start = last = time.monotonic(); done = last_done = 0
src, dst = sys.stdin.buffer, sys.stdout.buffer
while True:
    chunk = src.read1(1 << 20) if hasattr(src, "read1") else src.read(1 << 20)
    if not chunk:
        break
    dst.write(chunk); done += len(chunk)
    now = time.monotonic()
    if now - last >= every:
        rate = (done - last_done) / (now - last)
        pct = " (%d%%)" % min(99, done * 100 // total) if total > 0 else ""
        of = " of ~%s" % size(total) if total > 0 else ""
        out.write("%s: %s%s%s, %s/s, %s\n" % (label, size(done), of, pct, size(rate), dur(now - start)))
        last, last_done = now, done
dst.flush()
el = max(time.monotonic() - start, 1e-3)
out.write("%s: done, %s in %s (%s/s)\n" % (label, size(done), dur(el), size(done / el)))
' "$@"
}

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
