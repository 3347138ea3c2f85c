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
$SUDO sysctl -q -w vm.min_free_kbytes=3145728
