set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
[ "$(uname -m)" = aarch64 ] || { echo "dgx-spark-vllm: node spark-worker: preflight arch: expected aarch64, found $(uname -m)" >&2; exit 1; }
uname -m
