#!/bin/bash
# Managed by dgx-spark-vllm: UMA headroom check (free unified memory below the threshold).
set -euo pipefail
NODE=spark-worker
THRESHOLD_KB=6291456
THRESHOLD_GB=6
WEBHOOK_FILE=/etc/dgx-spark-vllm/uma-webhook

# The UMA headroom check (src/plan/monitor.ts renders it; a systemd timer runs it as root): log,
# and POST to the webhook when one is configured, when MemAvailable falls below the threshold.
# Inputs, rendered in front of this file: NODE THRESHOLD_KB THRESHOLD_GB WEBHOOK_FILE.

avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
if [ "$avail_kb" -lt "$THRESHOLD_KB" ]; then
  msg="dgx-spark-vllm: node $NODE: UMA headroom low: $((avail_kb / 1024)) MiB available, threshold $THRESHOLD_GB GiB"
  logger -t dgx-spark-vllm -p user.warning "$msg"
  echo "$msg" >&2
  if [ -s "$WEBHOOK_FILE" ]; then
    curl -fsS -m 10 -X POST -H 'Content-Type: application/json' --data "{\"text\":\"$msg\"}" "$(cat "$WEBHOOK_FILE")" >/dev/null ||
      logger -t dgx-spark-vllm "webhook POST failed"
  fi
fi
