set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
if [ ! -d /home/spark/.cache ]; then $SUDO install -d -o "$(id -un)" -g "$(id -gn)" /home/spark/.cache; echo /home/spark/.cache | $SUDO tee -a "$J/created-dirs" >/dev/null; fi
if [ ! -d /home/spark/.cache/huggingface ]; then $SUDO install -d -o "$(id -un)" -g "$(id -gn)" /home/spark/.cache/huggingface; echo /home/spark/.cache/huggingface | $SUDO tee -a "$J/created-dirs" >/dev/null; fi
if [ ! -d /home/spark/.cache/vllm ]; then $SUDO install -d -o "$(id -un)" -g "$(id -gn)" /home/spark/.cache/vllm; echo /home/spark/.cache/vllm | $SUDO tee -a "$J/created-dirs" >/dev/null; fi
if [ ! -d /home/spark/.cache/flashinfer ]; then $SUDO install -d -o "$(id -un)" -g "$(id -gn)" /home/spark/.cache/flashinfer; echo /home/spark/.cache/flashinfer | $SUDO tee -a "$J/created-dirs" >/dev/null; fi
if [ ! -d /home/spark/.cache/triton ]; then $SUDO install -d -o "$(id -un)" -g "$(id -gn)" /home/spark/.cache/triton; echo /home/spark/.cache/triton | $SUDO tee -a "$J/created-dirs" >/dev/null; fi
