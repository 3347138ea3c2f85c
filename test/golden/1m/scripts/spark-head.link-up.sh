#!/bin/bash
# Managed by dgx-spark-vllm (node spark-head): bring the RoCE data plane back after a boot.
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
ip link show dev enp1s0f1np1 >/dev/null 2>&1 || { echo 'dgx-spark-vllm: node spark-head: link-boot: data-plane netdev enp1s0f1np1 does not exist' >&2; exit 1; }
other=$(ip -o -4 addr show to 10.0.0.1/32 | awk '$2 != "enp1s0f1np1" && o == "" {o = $2} END {print o}')
[ -z "$other" ] || { echo "dgx-spark-vllm: node spark-head: link-boot: 10.0.0.1 is already in use on interface $other" >&2; exit 1; }
$SUDO ip link set dev enp1s0f1np1 mtu 9000 up
grep -qF ' 10.0.0.1/30 ' <<<"$(ip -o -4 addr show dev enp1s0f1np1)" || $SUDO ip addr add 10.0.0.1/30 dev enp1s0f1np1
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
  [ -n "$ok" ] || { echo 'dgx-spark-vllm: node spark-head: link-boot: no RoCEv2 GID for 10.0.0.1 on rocep1s0f1 after re-adding the address: check the cable and '\''ibdev2netdev'\''' >&2; exit 1; }
fi
echo 'dgx-spark-vllm: node spark-head: data plane up at MTU 9000'
