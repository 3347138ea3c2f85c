#!/bin/bash
# Managed by dgx-spark-vllm: UMA headroom check (free unified memory below the threshold).
set -euo pipefail
threshold_kb=12582912
avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
if [ "$avail_kb" -lt "$threshold_kb" ]; then
  msg="dgx-spark-vllm: node spark-head: UMA headroom low: $((avail_kb / 1024)) MiB available, threshold 12 GB"
  logger -t dgx-spark-vllm -p user.warning "$msg"
  echo "$msg" >&2
  if [ -s /etc/dgx-spark-vllm/uma-webhook ]; then
    curl -fsS -m 10 -X POST -H 'Content-Type: application/json' --data "{\"text\":\"$msg\"}" "$(cat /etc/dgx-spark-vllm/uma-webhook)" >/dev/null || logger -t dgx-spark-vllm "webhook POST failed"
  fi
fi