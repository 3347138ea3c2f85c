set -euo pipefail
TAG=eugr/spark-vllm-b12x:latest
FROM=spark-head
TARGET=spark-worker
INTERVAL=15
FAIL_MSG='docker save | ssh spark@spark-worker.local docker load failed: the head needs passwordless SSH to spark-worker'

# --- node access (the one seam): on_node NODE COMMAND runs the shell COMMAND on NODE ---
on_node() {
  case "$1" in
    spark-head) bash -c "$2" ;;
    spark-worker) ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p 22 spark@spark-worker.local "$2" ;;
    *) echo "dgx-spark-vllm: no access to unknown node $1" >&2; return 2 ;;
  esac
}
# --- end of node access ---

# Progress lines a person can follow in `pulumi up` (the command provider shows a command's
# stdout as it runs). Nothing here ever sees a secret: it counts bytes and seconds.

# human_bytes N: 1.2 GB, 340.0 MB, 12.0 KB, 5 B (decimal units, as df -H and docker print).
human_bytes() {
  awk -v b="$1" 'BEGIN {
    split("B KB MB GB TB", u, " "); i = 1; while (b >= 1000 && i < 5) { b /= 1000; i++ }
    if (i == 1) printf "%d B", b; else printf "%.1f %s", b, u[i]
  }'
}

# human_seconds S: 45 s, 3m05s, 1h02m.
human_seconds() {
  local s=$1
  if [ "$s" -lt 60 ]; then echo "$s s"
  elif [ "$s" -lt 3600 ]; then printf '%dm%02ds\n' $((s / 60)) $((s % 60))
  else printf '%dh%02dm\n' $((s / 3600)) $((s % 3600 / 60)); fi
}

# copy_progress TOTAL LABEL INTERVAL FD: copy stdin to stdout unchanged; every INTERVAL seconds,
# and once at the end, write to file descriptor FD a line: LABEL: bytes so far, percent of TOTAL
# (bytes, an estimate: 0 when unknown; never shown above 99% before the end), rate, elapsed time.
copy_progress() {
  python3 -u -c '
import os, sys, time
total, label, every, fd = int(sys.argv[1] or 0), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
out = os.fdopen(fd, "w", buffering=1)
def size(b):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if b < 1000 or unit == "TB":
            return ("%d %s" % (b, unit)) if unit == "B" else ("%.1f %s" % (b, unit))
        b /= 1000.0
def dur(s):
    s = int(s)
    return "%d s" % s if s < 60 else ("%dm%02ds" % (s // 60, s % 60) if s < 3600 else "%dh%02dm" % (s // 3600, s % 3600 // 60))
start = last = time.monotonic(); done = last_done = 0
src, dst = sys.stdin.buffer, sys.stdout.buffer
while True:
    chunk = src.read1(1 << 20) if hasattr(src, "read1") else src.read(1 << 20)
    if not chunk:
        break
    dst.write(chunk); done += len(chunk)
    now = time.monotonic()
    if now - last >= every:
        rate = (done - last_done) / (now - last)
        pct = " (%d%%)" % min(99, done * 100 // total) if total > 0 else ""
        of = " of ~%s" % size(total) if total > 0 else ""
        out.write("%s: %s%s%s, %s/s, %s\n" % (label, size(done), of, pct, size(rate), dur(now - start)))
        last, last_done = now, done
dst.flush()
el = max(time.monotonic() - start, 1e-3)
out.write("%s: done, %s in %s (%s/s)\n" % (label, size(done), dur(el), size(done / el)))
' "$@"
}

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
