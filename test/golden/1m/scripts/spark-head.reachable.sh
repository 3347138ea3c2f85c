set -euo pipefail
echo 'dgx-spark-vllm: node spark-head reachable' "$(uname -n)"
