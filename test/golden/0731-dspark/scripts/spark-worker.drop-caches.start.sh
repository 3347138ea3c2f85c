set -euo pipefail
docker rm -f dgx-spark-vllm-drop-caches-spark-worker >/dev/null 2>&1 || true
docker run -d --rm --name dgx-spark-vllm-drop-caches-spark-worker --privileged --restart no --label dgx-spark-vllm.managed=true --label dgx-spark-vllm.role=drop-caches --label dgx-spark-vllm.node=spark-worker --entrypoint sh eugr/spark-vllm-b12x:latest -c 'n=0; while [ "$n" -lt 35 ]; do sync; echo 3 > /proc/sys/vm/drop_caches; n=$((n+1)); sleep 60; done' >/dev/null || { echo 'dgx-spark-vllm: node spark-worker: drop-caches: could not start the drop-caches sidecar' >&2; exit 1; }
