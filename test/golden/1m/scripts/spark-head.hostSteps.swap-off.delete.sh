set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
if grep -q '^#dgx-spark-vllm# ' /etc/fstab; then $SUDO sed -i 's|^#dgx-spark-vllm# ||' /etc/fstab; fi
if [ -e "$J/swaps" ]; then
  while read -r dev; do
    if [ -n "$dev" ] && ! grep -qxF "$dev" <<<"$(swapon --show=NAME --noheadings --raw)"; then $SUDO swapon "$dev"; fi
  done < "$J/swaps"
  $SUDO rm -f "$J/swaps"
fi
if $SUDO rmdir "$J" 2>/dev/null; then $SUDO rmdir "${J%/*}" 2>/dev/null || true; fi
