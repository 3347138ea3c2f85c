set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
: # the check changes nothing lasting
if $SUDO rmdir "$J" 2>/dev/null; then $SUDO rmdir "${J%/*}" 2>/dev/null || true; fi
