set -euo pipefail
if [ -x /usr/local/bin/dgx-spark-vllm-watchdog ]; then /usr/local/bin/dgx-spark-vllm-watchdog unhold; fi
