set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
webhook=; IFS= read -r webhook || true
if [ ! -e "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.orig" ] && [ ! -e "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.absent" ]; then
  if [ -e /usr/local/lib/dgx-spark-vllm/uma-headroom.sh ]; then $SUDO cp -p /usr/local/lib/dgx-spark-vllm/uma-headroom.sh "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.orig"; else $SUDO touch "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.absent"; fi
fi
if [ ! -e "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.dirs" ]; then d=/usr/local/lib/dgx-spark-vllm; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.dirs" >/dev/null; fi
$SUDO mkdir -p /usr/local/lib/dgx-spark-vllm
$SUDO tee /usr/local/lib/dgx-spark-vllm/uma-headroom.sh >/dev/null <<'DGX_SPARK_VLLM_EOF'
#!/bin/bash
# Managed by dgx-spark-vllm: UMA headroom check (free unified memory below the threshold).
set -euo pipefail
NODE=spark-head
THRESHOLD_KB=1048576
THRESHOLD_GB=1
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
DGX_SPARK_VLLM_EOF
$SUDO chmod 0755 /usr/local/lib/dgx-spark-vllm/uma-headroom.sh
if [ ! -e "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.orig" ] && [ ! -e "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.absent" ]; then
  if [ -e /etc/systemd/system/dgx-spark-vllm-uma-headroom.service ]; then $SUDO cp -p /etc/systemd/system/dgx-spark-vllm-uma-headroom.service "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.orig"; else $SUDO touch "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.absent"; fi
fi
if [ ! -e "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.dirs" ]; then d=/etc/systemd/system; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.dirs" >/dev/null; fi
$SUDO mkdir -p /etc/systemd/system
$SUDO tee /etc/systemd/system/dgx-spark-vllm-uma-headroom.service >/dev/null <<'DGX_SPARK_VLLM_EOF'
[Unit]
Description=dgx-spark-vllm UMA headroom check

[Service]
Type=oneshot
ExecStart=/usr/local/lib/dgx-spark-vllm/uma-headroom.sh
DGX_SPARK_VLLM_EOF
$SUDO chmod 0644 /etc/systemd/system/dgx-spark-vllm-uma-headroom.service
if [ ! -e "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.orig" ] && [ ! -e "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.absent" ]; then
  if [ -e /etc/systemd/system/dgx-spark-vllm-uma-headroom.timer ]; then $SUDO cp -p /etc/systemd/system/dgx-spark-vllm-uma-headroom.timer "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.orig"; else $SUDO touch "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.absent"; fi
fi
if [ ! -e "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.dirs" ]; then d=/etc/systemd/system; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.dirs" >/dev/null; fi
$SUDO mkdir -p /etc/systemd/system
$SUDO tee /etc/systemd/system/dgx-spark-vllm-uma-headroom.timer >/dev/null <<'DGX_SPARK_VLLM_EOF'
[Unit]
Description=dgx-spark-vllm UMA headroom check every minute

[Timer]
OnBootSec=60
OnUnitActiveSec=60
AccuracySec=5

[Install]
WantedBy=timers.target
DGX_SPARK_VLLM_EOF
$SUDO chmod 0644 /etc/systemd/system/dgx-spark-vllm-uma-headroom.timer
if [ ! -d /etc/dgx-spark-vllm ]; then $SUDO mkdir -p /etc/dgx-spark-vllm; $SUDO touch "$J"/dir%etc%dgx-spark-vllm.created; fi
if [ -n "$webhook" ]; then printf '%s\n' "$webhook" | $SUDO tee /etc/dgx-spark-vllm/uma-webhook >/dev/null; $SUDO chmod 0600 /etc/dgx-spark-vllm/uma-webhook; else $SUDO rm -f /etc/dgx-spark-vllm/uma-webhook; fi
$SUDO systemctl daemon-reload
$SUDO systemctl enable --now dgx-spark-vllm-uma-headroom.timer
