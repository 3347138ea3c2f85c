set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
if [ ! -e "$J/vm.min_free_kbytes" ]; then sysctl -n vm.min_free_kbytes | $SUDO tee "$J/vm.min_free_kbytes" >/dev/null; fi
if [ ! -e "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.orig" ] && [ ! -e "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.absent" ]; then
  if [ -e /etc/sysctl.d/90-dgx-spark-vllm.conf ]; then $SUDO cp -p /etc/sysctl.d/90-dgx-spark-vllm.conf "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.orig"; else $SUDO touch "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.absent"; fi
fi
if [ ! -e "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.dirs" ]; then d=/etc/sysctl.d; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%etc%sysctl.d%90-dgx-spark-vllm.conf.dirs" >/dev/null; fi
$SUDO mkdir -p /etc/sysctl.d
$SUDO tee /etc/sysctl.d/90-dgx-spark-vllm.conf >/dev/null <<'DGX_SPARK_VLLM_EOF'
# Managed by dgx-spark-vllm: make a UMA OOM recoverable.
vm.min_free_kbytes = 3145728
DGX_SPARK_VLLM_EOF
$SUDO chmod 0644 /etc/sysctl.d/90-dgx-spark-vllm.conf
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
min_free_kbytes_set
