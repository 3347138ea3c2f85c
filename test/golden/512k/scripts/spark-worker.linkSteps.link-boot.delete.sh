set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
$SUDO systemctl disable --now dgx-spark-vllm-link.service 2>/dev/null || true
if [ -e "$J/file%etc%systemd%system%dgx-spark-vllm-link.service.orig" ]; then $SUDO cp -p "$J/file%etc%systemd%system%dgx-spark-vllm-link.service.orig" /etc/systemd/system/dgx-spark-vllm-link.service; $SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-link.service.orig";
else $SUDO rm -f /etc/systemd/system/dgx-spark-vllm-link.service; fi
$SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-link.service.absent"
if [ -e "$J/file%etc%systemd%system%dgx-spark-vllm-link.service.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%systemd%system%dgx-spark-vllm-link.service.dirs"; $SUDO rm -f "$J/file%etc%systemd%system%dgx-spark-vllm-link.service.dirs"; fi
if [ -e "$J/file%usr%local%lib%dgx-spark-vllm%link-up.sh.orig" ]; then $SUDO cp -p "$J/file%usr%local%lib%dgx-spark-vllm%link-up.sh.orig" /usr/local/lib/dgx-spark-vllm/link-up.sh; $SUDO rm -f "$J/file%usr%local%lib%dgx-spark-vllm%link-up.sh.orig";
else $SUDO rm -f /usr/local/lib/dgx-spark-vllm/link-up.sh; fi
$SUDO rm -f "$J/file%usr%local%lib%dgx-spark-vllm%link-up.sh.absent"
if [ -e "$J/file%usr%local%lib%dgx-spark-vllm%link-up.sh.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%usr%local%lib%dgx-spark-vllm%link-up.sh.dirs"; $SUDO rm -f "$J/file%usr%local%lib%dgx-spark-vllm%link-up.sh.dirs"; fi
$SUDO systemctl daemon-reload
if $SUDO rmdir "$J" 2>/dev/null; then $SUDO rmdir "${J%/*}" 2>/dev/null || true; fi
