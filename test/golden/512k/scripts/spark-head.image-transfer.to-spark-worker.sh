set -euo pipefail
src=$(docker image inspect --format '{{.Id}}' vllm-gb10-dsv4)
dst=$(ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p 22 spark@spark-worker.local docker image inspect --format "'{{.Id}}'" vllm-gb10-dsv4 2>/dev/null || true)
if [ "$src" != "$dst" ]; then
  docker save vllm-gb10-dsv4 | ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p 22 spark@spark-worker.local docker load || { echo 'dgx-spark-vllm: node spark-head: image-transfer: docker save | ssh spark@spark-worker.local docker load failed: the head needs passwordless SSH to spark-worker' >&2; exit 1; }
fi
echo 'spark-worker: '"$src"
