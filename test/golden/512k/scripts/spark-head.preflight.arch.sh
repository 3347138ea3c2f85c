set -euo pipefail
node=spark-head
[ "$(uname -m)" = aarch64 ] || { echo "dgx-spark-vllm: node $node: preflight arch: expected aarch64, found $(uname -m)" >&2; exit 1; }
uname -m
