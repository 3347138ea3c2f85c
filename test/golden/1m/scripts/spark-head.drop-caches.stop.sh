set -euo pipefail
docker rm -f dgx-spark-vllm-drop-caches-spark-head >/dev/null 2>&1 || true
