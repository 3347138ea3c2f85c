set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
k="$J"/image%eugr%spark-vllm-b12x%latest
if [ -e "$k.absent" ]; then docker image rm eugr/spark-vllm-b12x:latest >/dev/null 2>&1 || true; fi
$SUDO rm -f "$k.absent" "$k.present"
