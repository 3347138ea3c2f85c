#!/bin/bash
# Managed by dgx-spark-vllm: UMA headroom check (free unified memory below the threshold).
set -euo pipefail
NODE=spark-worker
THRESHOLD_KB=6291456
THRESHOLD_GB=6
WEBHOOK_FILE=/etc/dgx-spark-vllm/uma-webhook
METRICS_FILE=/var/lib/dgx-spark-vllm/metrics/dgx_spark_vllm.prom
MTU=9000
NETDEV=(enp1s0f1np1)
HCA=(rocep1s0f1)
GID=(0000:0000:0000:0000:0000:ffff:0a00:0002)
ADDRESS=(10.0.0.2)
WATCHDOG_DIR=''
MAX_RESTARTS_PER_HOUR=0
CONTAINER=dgx-spark-vllm-spark-worker
SIDECAR=dgx-spark-vllm-drop-caches-spark-worker

# roce_gid_index HCA GID [SYSFS]: print the index of GID on HCA port 1 when its type is RoCE v2 (RECIPE.md
# "Post-reboot RoCEv2 GID-index quirk"); fail, printing nothing, when there is none. Used by the
# container's start (link.gidPolicy: resolve), the link steps, the boot unit and doctor.
roce_gid_index() {
  local dev="${3:-/sys}/class/infiniband/$1/ports/1" f i
  for f in "$dev"/gids/*; do
    i=${f##*/}
    if [ "$(cat "$f" 2>/dev/null)" = "$2" ] && [ "$(cat "$dev/gid_attrs/types/$i" 2>/dev/null)" = "RoCE v2" ]; then echo "$i"; return 0; fi
  done
  return 1
}

# Our node metrics for the node exporter's textfile collector (docs/observability.md "What is
# scraped"): written by the UMA headroom monitor every minute when observability is on (no daemon
# of its own). Inputs, rendered in front of this file: NODE THRESHOLD_KB METRICS_FILE MTU, per
# data-plane port (same index) NETDEV HCA GID ADDRESS; WATCHDOG_DIR and MAX_RESTARTS_PER_HOUR on
# the head (empty elsewhere); CONTAINER (the engine's container) and SIDECAR (the drop-caches
# sidecar's); gid.sh for roce_gid_index. Sourcing this file defines the functions only.

# The counters that count errors and retransmissions (IB counters/ and mlx5 hw_counters/ names).
RDMA_ERROR_COUNTERS=" symbol_error port_rcv_errors port_rcv_remote_physical_errors port_rcv_switch_relay_errors"
RDMA_ERROR_COUNTERS+=" link_error_recovery link_downed port_xmit_discards port_xmit_constraint_errors port_rcv_constraint_errors"
RDMA_ERROR_COUNTERS+=" local_link_integrity_errors excessive_buffer_overrun_errors VL15_dropped out_of_buffer out_of_sequence"
RDMA_ERROR_COUNTERS+=" local_ack_timeout_err req_cqe_error resp_cqe_error req_remote_access_errors req_remote_invalid_request"
RDMA_ERROR_COUNTERS+=" resp_local_length_error resp_remote_access_errors rx_icrc_encapsulated "
RDMA_RETRANSMIT_COUNTERS=" packet_seq_err implied_nak_seq_err duplicate_request rnr_nak_retry_err roce_adp_retrans roce_adp_retrans_to roce_slow_restart "

# m_help NAME TYPE TEXT: the HELP and TYPE lines of one metric family.
m_help() { printf '# HELP %s %s\n# TYPE %s %s\n' "$1" "$3" "$1" "$2"; }

# metrics_uma AVAIL_KB THRESHOLD_KB: free unified memory and the alert threshold, bytes.
metrics_uma() {
  m_help dgx_spark_vllm_uma_available_bytes gauge "MemAvailable of the unified memory (CPU and GPU share it)."
  echo "dgx_spark_vllm_uma_available_bytes $(($1 * 1024))"
  m_help dgx_spark_vllm_uma_threshold_bytes gauge "The UMA headroom alert threshold (hardening.umaAlertThresholdGb)."
  echo "dgx_spark_vllm_uma_threshold_bytes $(($2 * 1024))"
}

# metrics_rdma SYSFS: every RDMA port's counters/ and hw_counters/ under SYSFS/class/infiniband,
# raw, plus the error and retransmission counters and the data bytes as their own families.
metrics_rdma() {
  local root=$1/class/infiniband dir dev port f name src v labels
  local raw=() errs=() retr=() bytes=()
  for dir in "$root"/*/ports/*; do
    [ -d "$dir" ] || continue
    dev=${dir#"$root"/}; dev=${dev%%/*}; port=${dir##*/}
    for f in "$dir"/counters/* "$dir"/hw_counters/*; do
      [ -f "$f" ] || continue
      v=$(cat "$f" 2>/dev/null) || continue
      [[ "$v" =~ ^[0-9]+$ ]] || continue
      name=${f##*/}; src=${f%/*}; src=${src##*/}
      labels="device=\"$dev\",port=\"$port\""
      raw+=("dgx_spark_vllm_rdma_counter{$labels,source=\"$src\",counter=\"$name\"} $v")
      case "$RDMA_ERROR_COUNTERS" in *" $name "*) errs+=("dgx_spark_vllm_rdma_port_errors_total{$labels,counter=\"$name\"} $v") ;; esac
      case "$RDMA_RETRANSMIT_COUNTERS" in *" $name "*) retr+=("dgx_spark_vllm_rdma_port_retransmits_total{$labels,counter=\"$name\"} $v") ;; esac
      # port_*_data count 4-byte words.
      case "$src/$name" in
        counters/port_xmit_data) bytes+=("dgx_spark_vllm_rdma_port_bytes_total{$labels,direction=\"tx\"} $((v * 4))") ;;
        counters/port_rcv_data) bytes+=("dgx_spark_vllm_rdma_port_bytes_total{$labels,direction=\"rx\"} $((v * 4))") ;;
      esac
    done
  done
  if [ "${#raw[@]}" -gt 0 ]; then
    m_help dgx_spark_vllm_rdma_counter untyped "An RDMA port counter as the kernel reports it (counters/ and hw_counters/)."
    printf '%s\n' "${raw[@]}"
  fi
  if [ "${#errs[@]}" -gt 0 ]; then
    m_help dgx_spark_vllm_rdma_port_errors_total counter "RDMA port error counters (symbol, receive, discard, link-down, out-of-sequence, timeouts)."
    printf '%s\n' "${errs[@]}"
  fi
  if [ "${#retr[@]}" -gt 0 ]; then
    m_help dgx_spark_vllm_rdma_port_retransmits_total counter "RDMA port retransmission counters (sequence errors, NAKs, RoCE adaptive retransmissions)."
    printf '%s\n' "${retr[@]}"
  fi
  if [ "${#bytes[@]}" -gt 0 ]; then
    m_help dgx_spark_vllm_rdma_port_bytes_total counter "RDMA port data bytes (port_xmit_data and port_rcv_data times 4)."
    printf '%s\n' "${bytes[@]}"
  fi
}

# metrics_link SYSFS: each data-plane port's MTU (the configured one beside it) and the index of
# its RoCE v2 GID (-1: missing, the post-reboot quirk).
metrics_link() {
  local i dev mtu idx
  local mtus=() gids=()
  for i in "${!NETDEV[@]}"; do
    dev=${NETDEV[$i]}
    mtu=$(cat "$1/class/net/$dev/mtu" 2>/dev/null) || mtu=
    [[ "$mtu" =~ ^[0-9]+$ ]] && mtus+=("dgx_spark_vllm_link_mtu_bytes{netdev=\"$dev\"} $mtu")
    idx=$(roce_gid_index "${HCA[$i]}" "${GID[$i]}" "$1") || idx=-1
    gids+=("dgx_spark_vllm_roce_gid_index{netdev=\"$dev\",hca=\"${HCA[$i]}\",address=\"${ADDRESS[$i]}\"} $idx")
  done
  m_help dgx_spark_vllm_link_mtu_expected_bytes gauge "The data-plane MTU the config asks for (link.mtu)."
  echo "dgx_spark_vllm_link_mtu_expected_bytes $MTU"
  if [ "${#mtus[@]}" -gt 0 ]; then
    m_help dgx_spark_vllm_link_mtu_bytes gauge "The MTU of each data-plane netdev."
    printf '%s\n' "${mtus[@]}"
  fi
  if [ "${#gids[@]}" -gt 0 ]; then
    m_help dgx_spark_vllm_roce_gid_index gauge "Index of the RoCE v2 GID of each data-plane address (-1: missing)."
    printf '%s\n' "${gids[@]}"
  fi
}

# metrics_watchdog DIR MAX NOW: the watchdog's restarts in the last hour, its cap, paused and gave-up.
metrics_watchdog() {
  local c=0 t cutoff=$(($3 - 3600)) paused=0 gave_up=0
  if [ -r "$1/restarts" ]; then while read -r t; do [ "$t" -gt "$cutoff" ] 2>/dev/null && c=$((c + 1)); done <"$1/restarts"; fi
  [ -e "$1/paused" ] && paused=1
  [ -e "$1/gave-up" ] && gave_up=1
  m_help dgx_spark_vllm_watchdog_restarts_last_hour gauge "Restarts of every rank by the watchdog in the last hour."
  echo "dgx_spark_vllm_watchdog_restarts_last_hour $c"
  m_help dgx_spark_vllm_watchdog_max_restarts_per_hour gauge "The watchdog's hourly cap (serving.watchdog.maxRestartsPerHour)."
  echo "dgx_spark_vllm_watchdog_max_restarts_per_hour $2"
  m_help dgx_spark_vllm_watchdog_paused gauge "1 while an operator paused the watchdog."
  echo "dgx_spark_vllm_watchdog_paused $paused"
  m_help dgx_spark_vllm_watchdog_gave_up gauge "1 after the watchdog reached its cap, stopped the ranks and gave up."
  echo "dgx_spark_vllm_watchdog_gave_up $gave_up"
}

# metrics_containers ROLE=NAME...: whether each container runs, and when it started (docker inspect).
metrics_containers() {
  local pair role name out running started t
  local up=() since=()
  for pair in "$@"; do
    role=${pair%%=*}; name=${pair#*=}
    [ -n "$name" ] || continue
    running=0; t=0
    if out=$(docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' "$name" 2>/dev/null); then
      read -r running started <<<"$out"
      if [ "$running" = true ]; then running=1; t=$(date -d "$started" +%s 2>/dev/null) || t=0; else running=0; fi
    fi
    up+=("dgx_spark_vllm_container_running{role=\"$role\",container=\"$name\"} $running")
    [ "$running" = 1 ] && since+=("dgx_spark_vllm_container_started_timestamp_seconds{role=\"$role\",container=\"$name\"} $t")
  done
  if [ "${#up[@]}" -gt 0 ]; then
    m_help dgx_spark_vllm_container_running gauge "1 while the container runs (role engine: the vLLM rank; sidecar: drop-caches while the weights load)."
    printf '%s\n' "${up[@]}"
  fi
  if [ "${#since[@]}" -gt 0 ]; then
    m_help dgx_spark_vllm_container_started_timestamp_seconds gauge "When the running container started (Unix time)."
    printf '%s\n' "${since[@]}"
  fi
}

# node_metrics AVAIL_KB SYSFS NOW: every metric of this node, in the text exposition format.
node_metrics() {
  metrics_uma "$1" "$THRESHOLD_KB"
  metrics_link "$2"
  metrics_rdma "$2"
  if [ -n "${WATCHDOG_DIR:-}" ]; then metrics_watchdog "$WATCHDOG_DIR" "$MAX_RESTARTS_PER_HOUR" "$3"; fi
  metrics_containers "engine=${CONTAINER:-}" "sidecar=${SIDECAR:-}"
  m_help dgx_spark_vllm_node_metrics_timestamp_seconds gauge "When the UMA monitor last wrote these metrics (Unix time)."
  echo "dgx_spark_vllm_node_metrics_timestamp_seconds $3"
}

# node_metrics_write AVAIL_KB: write METRICS_FILE atomically (a temporary file in its folder, then
# rename), so the collector never reads half a file.
node_metrics_write() {
  local dir tmp
  dir=$(dirname "$METRICS_FILE"); tmp="$dir/.dgx_spark_vllm.prom.$$"
  mkdir -p "$dir"
  if node_metrics "$1" /sys "$(date +%s)" >"$tmp"; then chmod 0644 "$tmp"; mv -f "$tmp" "$METRICS_FILE"; else rm -f "$tmp"; return 1; fi
}

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
node_metrics_write "$avail_kb" || logger -t dgx-spark-vllm "could not write the node metrics to $METRICS_FILE"
