#!/usr/bin/env bash
# The image transfer (src/plan/service.ts renders it; VllmImage runs it on the build node):
# `docker save TAG | docker load` on TARGET unless TARGET already has the same image ID, with a
# progress line every INTERVAL seconds on stdout. The target's image-journal step ran first: it
# recorded what TAG named there before, and its delete puts that back.
# Inputs, rendered in front of this file: TAG FROM TARGET INTERVAL FAIL_MSG, progress.sh
# (copy_progress, human_bytes) and on_node (the node access block).

src=$(docker image inspect --format '{{.Id}}' "$TAG")
dst=$(on_node "$TARGET" "docker image inspect --format '{{.Id}}' ${TAG@Q} 2>/dev/null" </dev/null || true)
if [ "$src" != "$dst" ]; then
  size=$(docker image inspect --format '{{.Size}}' "$TAG" 2>/dev/null || echo 0)
  echo "image $TAG: copying from $FROM to $TARGET (~$(human_bytes "$size"), docker save | docker load)"
  exec 3>&1
  if ! docker save "$TAG" | copy_progress "$size" "image $TAG -> $TARGET" "$INTERVAL" 3 | on_node "$TARGET" "docker load" >/dev/null; then
    echo "dgx-spark-vllm: node $FROM: image-transfer: $FAIL_MSG" >&2
    exit 1
  fi
  exec 3>&-
fi
echo "$TARGET: $src"
