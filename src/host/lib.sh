#!/usr/bin/env bash
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
