set -euo pipefail
command -v nvidia-smi >/dev/null || { echo 'dgx-spark-vllm: node spark-worker: preflight gpu: nvidia-smi not found: install the NVIDIA driver (DGX OS ships it)' >&2; exit 1; }
gpu=$(nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader | awk 'NR == 1')
case "$gpu" in *GB10*", 12.1") ;; *) echo "dgx-spark-vllm: node spark-worker: preflight gpu: expected a GB10 with compute capability 12.1, found '$gpu'" >&2; exit 1;; esac
echo "$gpu"
