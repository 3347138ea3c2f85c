set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
docker rm -f dgx-spark-vllm-drop-caches-spark-worker >/dev/null 2>&1 || true
