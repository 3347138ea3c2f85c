set -euo pipefail
if [ -x /usr/local/bin/dgx-spark-vllm-watchdog ]; then /usr/local/bin/dgx-spark-vllm-watchdog unhold; echo 'dgx-spark-vllm: watchdog on spark-head probing again'; fi
