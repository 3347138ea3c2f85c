set -euo pipefail
docker image inspect --format '{{.Id}}' eugr/spark-vllm-b12x:latest 2>/dev/null || { echo 'dgx-spark-vllm: node spark-head: image: image eugr/spark-vllm-b12x:latest is not present' >&2; exit 1; }
