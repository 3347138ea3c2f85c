set -euo pipefail
dev=/sys/class/infiniband/rocep1s0f1/ports/1
idx=
for f in "$dev"/gids/*; do
  i=${f##*/}
  if [ "$(cat "$f" 2>/dev/null)" = 0000:0000:0000:0000:0000:ffff:0a00:0001 ] && [ "$(cat "$dev/gid_attrs/types/$i" 2>/dev/null)" = "RoCE v2" ]; then idx=$i; break; fi
done
if [ -z "$idx" ]; then echo "dgx-spark-vllm: no RoCEv2 GID for 10.0.0.1 on rocep1s0f1: run the link recovery (pulumi up) before starting" >&2; exit 1; fi
