set -euo pipefail
src=$(docker image inspect --format '{{.Id}}' eugr/spark-vllm-b12x:latest)
dst=$(ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p 22 spark@spark-worker.local docker image inspect --format "'{{.Id}}'" eugr/spark-vllm-b12x:latest 2>/dev/null || true)
if [ "$src" != "$dst" ]; then
  docker save eugr/spark-vllm-b12x:latest | ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p 22 spark@spark-worker.local docker load || { echo 'dgx-spark-vllm: node spark-head: image-transfer: docker save | ssh spark@spark-worker.local docker load failed: the head needs passwordless SSH to spark-worker' >&2; exit 1; }
fi
echo 'spark-worker: '"$src"
