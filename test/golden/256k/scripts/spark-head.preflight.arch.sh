set -euo pipefail
[ "$(uname -m)" = aarch64 ] || { echo "dgx-spark-vllm: node spark-head: preflight arch: expected aarch64, found $(uname -m)" >&2; exit 1; }
uname -m
