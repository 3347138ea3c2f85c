set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
ip link show dev enp1s0f1np1 >/dev/null 2>&1 || { echo 'dgx-spark-vllm: node spark-head: link-address: data-plane netdev enp1s0f1np1 does not exist' >&2; exit 1; }
other=$(ip -o -4 addr show to 10.0.0.1/32 | awk '$2 != "enp1s0f1np1" && o == "" {o = $2} END {print o}')
[ -z "$other" ] || { echo "dgx-spark-vllm: node spark-head: link-address: 10.0.0.1 is already in use on interface $other" >&2; exit 1; }
[ -e "$J/link%enp1s0f1np1.mtu" ] || $SUDO tee "$J/link%enp1s0f1np1.mtu" </sys/class/net/enp1s0f1np1/mtu >/dev/null
if [ ! -e "$J/link%enp1s0f1np1.addr" ]; then if grep -qF ' 10.0.0.1/30 ' <<<"$(ip -o -4 addr show dev enp1s0f1np1)"; then echo preexisting; else echo added; fi | $SUDO tee "$J/link%enp1s0f1np1.addr" >/dev/null; fi
$SUDO ip link set dev enp1s0f1np1 mtu 9000 up
grep -qF ' 10.0.0.1/30 ' <<<"$(ip -o -4 addr show dev enp1s0f1np1)" || $SUDO ip addr add 10.0.0.1/30 dev enp1s0f1np1
if [ ! -e "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.orig" ] && [ ! -e "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.absent" ]; then
  if [ -e /etc/netplan/60-dgx-spark-vllm.yaml ]; then $SUDO cp -p /etc/netplan/60-dgx-spark-vllm.yaml "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.orig"; else $SUDO touch "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.absent"; fi
fi
if [ ! -e "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.dirs" ]; then d=/etc/netplan; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.dirs" >/dev/null; fi
$SUDO mkdir -p /etc/netplan
$SUDO tee /etc/netplan/60-dgx-spark-vllm.yaml >/dev/null <<'DGX_SPARK_VLLM_EOF'
# Managed by dgx-spark-vllm (node spark-head): data-plane ports of the RoCE link.
network:
  version: 2
  ethernets:
    enp1s0f1np1:
      dhcp4: false
      dhcp6: false
      link-local: []
      mtu: 9000
      addresses:
        - "10.0.0.1/30"
DGX_SPARK_VLLM_EOF
$SUDO chmod 0600 /etc/netplan/60-dgx-spark-vllm.yaml
