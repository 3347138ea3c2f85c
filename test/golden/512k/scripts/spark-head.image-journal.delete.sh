set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
k="$J"/image%vllm-gb10-dsv4
if [ -e "$k.absent" ]; then docker image rm vllm-gb10-dsv4 >/dev/null 2>&1 || true; fi
$SUDO rm -f "$k.absent" "$k.present"
