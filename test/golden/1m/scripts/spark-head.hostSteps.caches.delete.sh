set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
if [ -e "$J/created-dirs" ]; then
  tac "$J/created-dirs" | while read -r d; do [ -d "$d" ] && $SUDO rmdir --ignore-fail-on-non-empty "$d"; done
  $SUDO rm -f "$J/created-dirs"
fi
if $SUDO rmdir "$J" 2>/dev/null; then $SUDO rmdir "${J%/*}" 2>/dev/null || true; fi
