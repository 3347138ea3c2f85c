set -euo pipefail
if [ -x /usr/local/bin/dgx-spark-vllm-watchdog ]; then /usr/local/bin/dgx-spark-vllm-watchdog hold 2400 'pulumi up replacing containers'; else echo 'dgx-spark-vllm: no watchdog on spark-head yet: nothing to hold'; fi
if [ "$(docker inspect -f '{{.State.Running}}' dgx-spark-vllm-spark-head 2>/dev/null)" = true ]; then docker stop -t 30 dgx-spark-vllm-spark-head >/dev/null && echo 'dgx-spark-vllm: stopped dgx-spark-vllm-spark-head on spark-head: the ranks are replaced together'; fi
