set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
if [ -e "$J/image%vllm-gb10-dsv4.absent" ]; then docker image rm vllm-gb10-dsv4 >/dev/null 2>&1 || true; fi
$SUDO rm -f "$J/image%vllm-gb10-dsv4.absent" "$J/image%vllm-gb10-dsv4.present"
