set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
HOLDER=dgx-spark-vllm
# Holders of a shared host setting (src/plan/names.ts): swap, vm.min_free_kbytes, a data-plane
# netdev, the cache folders, an image tag are one per host, however many clusters use them. The
# first cluster's create records the original in the host-wide journal ($J); each cluster adds
# itself to KEY's holder list; a delete takes itself off and restores the original only when no
# other cluster still holds the setting. A record without a holder list (written before holders
# existed) has one implicit holder: its delete restores, as it always did.
# Inputs, rendered in front of this file: HOLDER (this cluster's name), SUDO, J.

# holders_lock / holders_unlock: one cluster at a time changes a holder list (two destroys at once
# must not both see the other still holding), and a create records the original of a shared
# setting and adds itself as a holder in one go (two clusters' first `up` at once must not both
# find no record, the second then recording the value the first had already changed). Nested
# calls keep the one lock. A lock left by a killed run is taken after 30 s.
HOLDERS_LOCK_DEPTH=0
holders_lock() {
  local i
  HOLDERS_LOCK_DEPTH=$((HOLDERS_LOCK_DEPTH + 1))
  [ "$HOLDERS_LOCK_DEPTH" -eq 1 ] || return 0
  for ((i = 0; i < 300; i++)); do $SUDO mkdir "$J/.holders.lock" 2>/dev/null && return 0; sleep 0.1; done
  echo "dgx-spark-vllm: $J/.holders.lock held for 30 s (a run killed while holding it?): going on" >&2
}
holders_unlock() {
  HOLDERS_LOCK_DEPTH=$((HOLDERS_LOCK_DEPTH - 1))
  [ "$HOLDERS_LOCK_DEPTH" -le 0 ] || return 0
  HOLDERS_LOCK_DEPTH=0
  $SUDO rmdir "$J/.holders.lock" 2>/dev/null || true
}

# hold KEY: this cluster holds the shared setting KEY ($J/KEY.holders, one name a line).
hold() {
  local f="$J/$1.holders"
  holders_lock
  grep -qxF -- "$HOLDER" "$f" 2>/dev/null || printf '%s\n' "$HOLDER" | $SUDO tee -a "$f" >/dev/null
  holders_unlock
}

# release KEY: this cluster no longer holds KEY. Exit 0 when nobody holds it any more (the caller
# puts the original back); exit 1, and says who, while another cluster still holds it.
release() {
  local f="$J/$1.holders" rest
  holders_lock
  if [ ! -e "$f" ]; then holders_unlock; return 0; fi
  rest=$(grep -vxF -- "$HOLDER" "$f" || true)
  if [ -n "$rest" ]; then
    printf '%s\n' "$rest" | $SUDO tee "$f" >/dev/null
    holders_unlock
    echo "dgx-spark-vllm: $1 stays as it is: still held by $(printf '%s' "$rest" | tr '\n' ' ' | sed 's/ $//')" >&2
    return 1
  fi
  $SUDO rm -f "$f"
  holders_unlock
  return 0
}
holders_lock
if [ ! -e "$J/vm.min_free_kbytes" ]; then sysctl -n vm.min_free_kbytes | $SUDO tee "$J/vm.min_free_kbytes" >/dev/null; fi
hold vm.min_free_kbytes
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
holders_unlock
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
