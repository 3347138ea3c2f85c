set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
$SUDO systemctl disable --now dgx-spark-vllm-watchdog.service 2>/dev/null || true
if [ -e "$J/file%etc%systemd%system%dgx-spark-vllm-watchdog.service.orig" ]; then $SUDO cp -p "$J/file%etc%systemd%system%dgx-spark-vllm-watchdog.service.orig" /etc/systemd/system/dgx-spark-vllm-watchdog.service; $SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-watchdog.service.orig";
else $SUDO rm -f /etc/systemd/system/dgx-spark-vllm-watchdog.service; fi
$SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-watchdog.service.absent"
if [ -e "$J/file%etc%systemd%system%dgx-spark-vllm-watchdog.service.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%systemd%system%dgx-spark-vllm-watchdog.service.dirs"; $SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-watchdog.service.dirs"; fi
if [ -e "$J/file%usr%local%bin%dgx-spark-vllm-watchdog.orig" ]; then $SUDO cp -p "$J/file%usr%local%bin%dgx-spark-vllm-watchdog.orig" /usr/local/bin/dgx-spark-vllm-watchdog; $SUDO rm -f "$J/file%usr%local%bin%dgx-spark-vllm-watchdog.orig";
else $SUDO rm -f /usr/local/bin/dgx-spark-vllm-watchdog; fi
$SUDO rm -f "$J/file%usr%local%bin%dgx-spark-vllm-watchdog.absent"
if [ -e "$J/file%usr%local%bin%dgx-spark-vllm-watchdog.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%usr%local%bin%dgx-spark-vllm-watchdog.dirs"; $SUDO rm -f "$J/file%usr%local%bin%dgx-spark-vllm-watchdog.dirs"; fi
if [ -e "$J/file%usr%local%lib%dgx-spark-vllm%watchdog.sh.orig" ]; then $SUDO cp -p "$J/file%usr%local%lib%dgx-spark-vllm%watchdog.sh.orig" /usr/local/lib/dgx-spark-vllm/watchdog.sh; $SUDO rm -f "$J/file%usr%local%lib%dgx-spark-vllm%watchdog.sh.orig";
else $SUDO rm -f /usr/local/lib/dgx-spark-vllm/watchdog.sh; fi
$SUDO rm -f "$J/file%usr%local%lib%dgx-spark-vllm%watchdog.sh.absent"
if [ -e "$J/file%usr%local%lib%dgx-spark-vllm%watchdog.sh.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%usr%local%lib%dgx-spark-vllm%watchdog.sh.dirs"; $SUDO rm -f "$J/file%usr%local%lib%dgx-spark-vllm%watchdog.sh.dirs"; fi
$SUDO rm -rf /var/lib/dgx-spark-vllm/watchdog
$SUDO systemctl daemon-reload
if $SUDO rmdir "$J" 2>/dev/null; then $SUDO rmdir "${J%/*}" 2>/dev/null || true; fi
