set -euo pipefail
echo 'dgx-spark-vllm: node spark-worker reachable' "$(uname -n)"
