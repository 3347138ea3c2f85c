set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
k="$J"/link%enp1s0f1np1
if [ "$(cat "$k.addr" 2>/dev/null)" = added ] && grep -qF ' 10.0.0.2/30 ' <<<"$(ip -o -4 addr show dev enp1s0f1np1 2>/dev/null)"; then $SUDO ip addr del 10.0.0.2/30 dev enp1s0f1np1; fi
if [ -e "$k.mtu" ]; then if ip link show dev enp1s0f1np1 >/dev/null 2>&1; then $SUDO ip link set dev enp1s0f1np1 mtu "$(cat "$k.mtu")"; fi; $SUDO rm -f "$k.mtu"; fi
$SUDO rm -f "$k.addr"
k="$J"/link%enP2p1s0f1np1
if [ "$(cat "$k.addr" 2>/dev/null)" = added ] && grep -qF ' 10.0.1.2/30 ' <<<"$(ip -o -4 addr show dev enP2p1s0f1np1 2>/dev/null)"; then $SUDO ip addr del 10.0.1.2/30 dev enP2p1s0f1np1; fi
if [ -e "$k.mtu" ]; then if ip link show dev enP2p1s0f1np1 >/dev/null 2>&1; then $SUDO ip link set dev enP2p1s0f1np1 mtu "$(cat "$k.mtu")"; fi; $SUDO rm -f "$k.mtu"; fi
$SUDO rm -f "$k.addr"
if [ -e "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.orig" ]; then $SUDO cp -p "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.orig" /etc/netplan/60-dgx-spark-vllm.yaml; $SUDO rm -f "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.orig";
else $SUDO rm -f /etc/netplan/60-dgx-spark-vllm.yaml; fi
$SUDO rm -f "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.absent"
if [ -e "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.dirs"; $SUDO rm -f "$J/file%etc%netplan%60-dgx-spark-vllm.yaml.dirs"; fi
if $SUDO rmdir "$J" 2>/dev/null; then $SUDO rmdir "${J%/*}" 2>/dev/null || true; fi
