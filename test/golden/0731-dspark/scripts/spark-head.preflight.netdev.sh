set -euo pipefail
command -v ibdev2netdev >/dev/null || { echo 'dgx-spark-vllm: node spark-head: preflight netdev: ibdev2netdev not found: install the MLNX/DOCA OFED tools' >&2; exit 1; }
grep -Eq '^rocep1s0f1 port [0-9]+ ==> enp1s0f1np1 \(Up\)' <<<"$(ibdev2netdev)" || { echo 'dgx-spark-vllm: node spark-head: preflight netdev: rocep1s0f1 ==> enp1s0f1np1 is not Up in ibdev2netdev: check the cable and the port' >&2; exit 1; }
grep -Eq '^roceP2p1s0f1 port [0-9]+ ==> enP2p1s0f1np1 \(Up\)' <<<"$(ibdev2netdev)" || { echo 'dgx-spark-vllm: node spark-head: preflight netdev: roceP2p1s0f1 ==> enP2p1s0f1np1 is not Up in ibdev2netdev: check the cable and the port' >&2; exit 1; }
