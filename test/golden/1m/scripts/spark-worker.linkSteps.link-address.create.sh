set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
NODE=spark-worker
MTU=9000
NETDEV=(enp1s0f1np1)
ADDRESS=(10.0.0.2)
PREFIX=(30)
HCA=(rocep1s0f1)
GID=(0000:0000:0000:0000:0000:ffff:0a00:0002)
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
link_check link-address
holders_lock
k="$J"/link%enp1s0f1np1
[ -e "$k.mtu" ] || $SUDO tee "$k.mtu" </sys/class/net/enp1s0f1np1/mtu >/dev/null
if [ ! -e "$k.addr" ]; then if grep -qF ' 10.0.0.2/30 ' <<<"$(ip -o -4 addr show dev enp1s0f1np1)"; then echo preexisting; else echo added; fi | $SUDO tee "$k.addr" >/dev/null; fi
hold link%enp1s0f1np1
link_set
if [ ! -e "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.orig" ] && [ ! -e "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.absent" ]; then
  if [ -e /etc/netplan/60-dgx-spark-vllm.yaml ]; then $SUDO cp -p /etc/netplan/60-dgx-spark-vllm.yaml "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.orig"; else $SUDO touch "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.absent"; fi
fi
if [ ! -e "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.dirs" ]; then d=/etc/netplan; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.dirs" >/dev/null; fi
$SUDO mkdir -p /etc/netplan
$SUDO tee /etc/netplan/60-dgx-spark-vllm.yaml >/dev/null <<'DGX_SPARK_VLLM_EOF'
# Managed by dgx-spark-vllm (node spark-worker): data-plane ports of the RoCE link.
network:
  version: 2
  ethernets:
    enp1s0f1np1:
      dhcp4: false
      dhcp6: false
      link-local: []
      mtu: 9000
      addresses:
        - "10.0.0.2/30"
DGX_SPARK_VLLM_EOF
$SUDO chmod 0600 /etc/netplan/60-dgx-spark-vllm.yaml
hold netplan
holders_unlock
