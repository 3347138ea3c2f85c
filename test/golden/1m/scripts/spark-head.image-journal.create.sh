set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
if [ ! -e "$J/image%vllm-gb10-dsv4.present" ] && [ ! -e "$J/image%vllm-gb10-dsv4.absent" ]; then if docker image inspect vllm-gb10-dsv4 >/dev/null 2>&1; then $SUDO touch "$J/image%vllm-gb10-dsv4.present"; else $SUDO touch "$J/image%vllm-gb10-dsv4.absent"; fi; fi
