set -euo pipefail
docker image inspect --format '{{.Id}}' vllm-gb10-dsv4 2>/dev/null || { echo 'dgx-spark-vllm: node spark-worker: image: image vllm-gb10-dsv4 is not present' >&2; exit 1; }
