set -euo pipefail
ping -M "do" -s 8972 -c 3 -W 2 -I enP2p1s0f1np1 10.0.1.1 >/dev/null || { echo 'dgx-spark-vllm: node spark-worker: link-verify: no don'\''t-fragment ping of 8972 bytes to spark-head (10.0.1.1) over enP2p1s0f1np1: check the MTU (9000) on both ends and the cable' >&2; exit 1; }
