#!/usr/bin/env bash
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
