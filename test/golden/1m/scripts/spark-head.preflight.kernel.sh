set -euo pipefail
kr=$(uname -r)
if [ "$kr" = 7.0.0-1019-nvidia ]; then { echo 'dgx-spark-vllm: node spark-head: preflight kernel: kernel 7.0.0-1019-nvidia: NCCL over RoCE fails at init: ibv_reg_mr_iova2 fails with ENOMEM (Cannot allocate memory) (eugr/spark-vllm-docker issue #392; MiaAI-Lab/DeepSeek-v4.1-Flash-DGX-Sparks issue #14 (NCCL ENOMEM on 7.0.0-1019; works with 6.17.0-1032)): boot the installed 6.17.0-1032-nvidia kernel (reported working) until a fixed kernel ships, or accept it with hardening.acknowledgeKnownBad: [kernel-7.0.0-1019-nvidia]' >&2; exit 1; }; fi
echo "$kr"
