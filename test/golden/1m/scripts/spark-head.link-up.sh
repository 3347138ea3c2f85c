#!/bin/bash
# Managed by dgx-spark-vllm (node spark-head): hardening and the RoCE data plane back after a boot.
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
NODE=spark-head
MTU=9000
NETDEV=(enp1s0f1np1)
ADDRESS=(10.0.0.1)
PREFIX=(30)
HCA=(rocep1s0f1)
GID=(0000:0000:0000:0000:0000:ffff:0a00:0001)
# roce_gid_index HCA GID [SYSFS]: print the index of GID on HCA port 1 when its type is RoCE v2 (RECIPE.md
# "Post-reboot RoCEv2 GID-index quirk"); fail, printing nothing, when there is none. Used by the
# container's start (link.gidPolicy: resolve), the link steps, the boot unit and doctor.
roce_gid_index() {
  local dev="${3:-/sys}/class/infiniband/$1/ports/1" f i
  for f in "$dev"/gids/*; do
    i=${f##*/}
    if [ "$(cat "$f" 2>/dev/null)" = "$2" ] && [ "$(cat "$dev/gid_attrs/types/$i" 2>/dev/null)" = "RoCE v2" ]; then echo "$i"; return 0; fi
  done
  return 1
}
# The RoCE data plane of one node (src/plan/link.ts renders it): used by the link-address and
# gid-check steps and by link-up.sh, the boot unit's script. Every function exits 1 with a message
# naming the node and the step when the link is not as it must be.
# Inputs, rendered in front of this file: NODE, MTU, and per data-plane port (same index) NETDEV,
# ADDRESS, PREFIX, HCA and GID (the address's IPv4-mapped GID); SUDO; gid.sh for link_gid.

# link_check STEP: every data-plane netdev exists and its address is not on another interface.
link_check() {
  local i dev other
  for i in "${!NETDEV[@]}"; do
    dev=${NETDEV[$i]}
    ip link show dev "$dev" >/dev/null 2>&1 || { echo "dgx-spark-vllm: node $NODE: $1: data-plane netdev $dev does not exist" >&2; exit 1; }
    # awk reads to the end (no early close of the pipe: under pipefail that could fail the line).
    other=$(ip -o -4 addr show to "${ADDRESS[$i]}/32" | awk -v dev="$dev" '$2 != dev && o == "" {o = $2} END {print o}')
    [ -z "$other" ] || { echo "dgx-spark-vllm: node $NODE: $1: ${ADDRESS[$i]} is already in use on interface $other" >&2; exit 1; }
  done
}

# link_set: every port at MTU and up, its address added when missing.
link_set() {
  local i dev cidr
  for i in "${!NETDEV[@]}"; do
    dev=${NETDEV[$i]}; cidr="${ADDRESS[$i]}/${PREFIX[$i]}"
    $SUDO ip link set dev "$dev" mtu "$MTU" up
    grep -qF " $cidr " <<<"$(ip -o -4 addr show dev "$dev")" || $SUDO ip addr add "$cidr" dev "$dev"
  done
}

# link_gid STEP: re-bounce (del + add) an address whose RoCEv2 GID is missing (the post-reboot
# quirk) and wait up to 10 s for it; exit 1 when it stays missing.
link_gid() {
  local i dev cidr ok fix
  for i in "${!NETDEV[@]}"; do
    dev=${NETDEV[$i]}; cidr="${ADDRESS[$i]}/${PREFIX[$i]}"
    if ! roce_gid_index "${HCA[$i]}" "${GID[$i]}" >/dev/null 2>&1; then
      echo "dgx-spark-vllm: node $NODE: RoCEv2 GID for ${ADDRESS[$i]} missing on ${HCA[$i]}; re-adding the address" >&2
      $SUDO ip addr del "$cidr" dev "$dev" 2>/dev/null || true
      $SUDO ip addr add "$cidr" dev "$dev"
      ok=; for _ in 1 2 3 4 5 6 7 8 9 10; do
        if roce_gid_index "${HCA[$i]}" "${GID[$i]}" >/dev/null 2>&1; then ok=1; break; fi; sleep 1
      done
      [ -n "$ok" ] || {
        fix="check the cable and 'ibdev2netdev'"
        echo "dgx-spark-vllm: node $NODE: $1: no RoCEv2 GID for ${ADDRESS[$i]} on ${HCA[$i]} after re-adding the address: $fix" >&2
        exit 1
      }
    fi
  done
}
HARDEN_SWAP_OFF=1
HARDEN_MIN_FREE=1
FSTAB_MARK='#dgx-spark-vllm# '
MIN_FREE_KBYTES=3145728
# Host hardening that must hold across reboots (src/plan/host.ts renders it for the swap-off and
# min-free-kbytes steps; link-up.sh, the boot unit's script, calls it again at every boot, since
# an OS update can add a swap line to fstab or a sysctl file that lowers the reserve).
# Inputs, rendered in front of this file: SUDO; FSTAB_MARK (swap_off) and MIN_FREE_KBYTES
# (min_free_kbytes_set).

# swap_off: swap off now, and every active swap line of /etc/fstab commented out behind
# FSTAB_MARK, so it stays off and the swap-off step's undo can restore exactly those lines.
swap_off() {
  local line='^[^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]'
  $SUDO swapoff -a
  if grep -Eq "$line" /etc/fstab; then $SUDO sed -i -E "s|($line.*)\$|$FSTAB_MARK\\1|" /etc/fstab; fi
}

# min_free_kbytes_set: vm.min_free_kbytes to MIN_FREE_KBYTES now.
min_free_kbytes_set() {
  $SUDO sysctl -q -w "vm.min_free_kbytes=$MIN_FREE_KBYTES"
}
# What the boot unit runs as root (src/plan/link.ts renders it): the hardening a boot can undo
# (swap off, vm.min_free_kbytes; each only when the plan asks for it), then MTU, up, addresses if
# missing, and the RoCEv2 GID re-bounce. Inputs: link.sh's, with gid.sh and link.sh in front;
# HARDEN_SWAP_OFF (1 or 0) and HARDEN_MIN_FREE (1 or 0), with hardening.sh and its inputs.
if [ "$HARDEN_MIN_FREE" = 1 ]; then min_free_kbytes_set; fi
if [ "$HARDEN_SWAP_OFF" = 1 ]; then swap_off; fi
link_check link-boot
link_set
link_gid link-boot
echo "dgx-spark-vllm: node $NODE: data plane up at MTU $MTU"
