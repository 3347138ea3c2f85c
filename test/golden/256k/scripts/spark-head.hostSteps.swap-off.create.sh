set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
if [ ! -e "$J/swaps" ]; then swapon --show=NAME --noheadings --raw | $SUDO tee "$J/swaps" >/dev/null; fi
$SUDO swapoff -a
if grep -Eq '^[^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]' /etc/fstab; then $SUDO sed -i -E 's|(^[^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]].*)$|#dgx-spark-vllm# \1|' /etc/fstab; fi
