set -euo pipefail
command -v nvidia-smi >/dev/null || { echo 'dgx-spark-vllm: node spark-head: preflight gpu: nvidia-smi not found: install the NVIDIA driver (DGX OS ships it)' >&2; exit 1; }
gpu=$(nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader | awk 'NR == 1')
node=spark-head
cap=12.1
case "$gpu" in *GB10*", $cap") ;; *) echo "dgx-spark-vllm: node $node: preflight gpu: expected a GB10 with compute capability $cap, found '$gpu'" >&2; exit 1;; esac
echo "$gpu"
