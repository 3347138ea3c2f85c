set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
echo 'dgx-spark-vllm: node spark-head reachable' "$(uname -n)"
