set -euo pipefail
if [ -x /usr/local/bin/dgx-spark-vllm-watchdog ]; then /usr/local/bin/dgx-spark-vllm-watchdog hold 2400 'pulumi up replacing containers'; else echo 'dgx-spark-vllm: no watchdog on spark-head yet: nothing to hold'; fi
