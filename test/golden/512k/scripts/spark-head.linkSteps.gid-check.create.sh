set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
# roce_gid_index HCA GID: print the index of GID on HCA port 1 when its type is RoCE v2 (RECIPE.md
# "Post-reboot RoCEv2 GID-index quirk"); fail, printing nothing, when there is none. Used by the
# container's start (link.gidPolicy: resolve), the link steps, the boot unit and doctor.
roce_gid_index() {
  local dev="/sys/class/infiniband/$1/ports/1" f i
  for f in "$dev"/gids/*; do
    i=${f##*/}
    if [ "$(cat "$f" 2>/dev/null)" = "$2" ] && [ "$(cat "$dev/gid_attrs/types/$i" 2>/dev/null)" = "RoCE v2" ]; then echo "$i"; return 0; fi
  done
  return 1
}
if ! roce_gid_index rocep1s0f1 0000:0000:0000:0000:0000:ffff:0a00:0001 >/dev/null 2>&1; then
  echo 'dgx-spark-vllm: node spark-head: RoCEv2 GID for 10.0.0.1 missing on rocep1s0f1; re-adding the address' >&2
  $SUDO ip addr del 10.0.0.1/30 dev enp1s0f1np1 2>/dev/null || true
  $SUDO ip addr add 10.0.0.1/30 dev enp1s0f1np1
  ok=; for _ in 1 2 3 4 5 6 7 8 9 10; do
    if roce_gid_index rocep1s0f1 0000:0000:0000:0000:0000:ffff:0a00:0001 >/dev/null 2>&1; then ok=1; break; fi; sleep 1
  done
  [ -n "$ok" ] || { echo 'dgx-spark-vllm: node spark-head: gid-check: no RoCEv2 GID for 10.0.0.1 on rocep1s0f1 after re-adding the address: check the cable and '\''ibdev2netdev'\''' >&2; exit 1; }
fi
