set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
$SUDO systemctl disable --now dgx-spark-vllm-uma-headroom.timer 2>/dev/null || true
$SUDO rm -f /etc/dgx-spark-vllm/uma-webhook
if [ -e "$J"/dir%etc%dgx-spark-vllm.created ]; then $SUDO rmdir /etc/dgx-spark-vllm 2>/dev/null || true; $SUDO rm -f "$J"/dir%etc%dgx-spark-vllm.created; fi
if [ -e "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.orig" ]; then $SUDO cp -p "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.orig" /etc/systemd/system/dgx-spark-vllm-uma-headroom.timer; $SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.orig";
else $SUDO rm -f /etc/systemd/system/dgx-spark-vllm-uma-headroom.timer; fi
$SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.absent"
if [ -e "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.dirs"; $SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.timer.dirs"; fi
if [ -e "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.orig" ]; then $SUDO cp -p "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.orig" /etc/systemd/system/dgx-spark-vllm-uma-headroom.service; $SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.orig";
else $SUDO rm -f /etc/systemd/system/dgx-spark-vllm-uma-headroom.service; fi
$SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.absent"
if [ -e "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.dirs"; $SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-uma-headroom.service.dirs"; fi
if [ -e "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.orig" ]; then $SUDO cp -p "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.orig" /usr/local/lib/dgx-spark-vllm/uma-headroom.sh; $SUDO rm -f "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.orig";
else $SUDO rm -f /usr/local/lib/dgx-spark-vllm/uma-headroom.sh; fi
$SUDO rm -f "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.absent"
if [ -e "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.dirs"; $SUDO rm -f "$J/file%usr%local%lib%dgx-spark-vllm%uma-headroom.sh.dirs"; fi
$SUDO systemctl daemon-reload
if $SUDO rmdir "$J" 2>/dev/null; then $SUDO rmdir "${J%/*}" 2>/dev/null || true; fi
