set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
k="$J"/image%eugr%spark-vllm-b12x%latest
if [ ! -e "$k.present" ] && [ ! -e "$k.absent" ]; then if docker image inspect eugr/spark-vllm-b12x:latest >/dev/null 2>&1; then $SUDO touch "$k.present"; else $SUDO touch "$k.absent"; fi; fi
docker image inspect eugr/spark-vllm-b12x:latest >/dev/null 2>&1 || docker pull eugr/spark-vllm-b12x:latest || { echo 'dgx-spark-vllm: node spark-head: image-pull: docker pull eugr/spark-vllm-b12x:latest failed' >&2; exit 1; }
