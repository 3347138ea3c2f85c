set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
if [ -e "$J/vm.min_free_kbytes" ]; then $SUDO sysctl -q -w vm.min_free_kbytes="$(cat "$J/vm.min_free_kbytes")"; $SUDO rm -f "$J/vm.min_free_kbytes"; fi
if [ -e "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.orig" ]; then $SUDO cp -p "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.orig" /etc/sysctl.d/90-dgx-spark-vllm.conf; $SUDO rm -f "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.orig";
else $SUDO rm -f /etc/sysctl.d/90-dgx-spark-vllm.conf; fi
$SUDO rm -f "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.absent"
if [ -e "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.dirs"; $SUDO rm -f "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.dirs"; fi
if $SUDO rmdir "$J" 2>/dev/null; then $SUDO rmdir "${J%/*}" 2>/dev/null || true; fi
