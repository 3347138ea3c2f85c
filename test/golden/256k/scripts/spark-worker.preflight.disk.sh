set -euo pipefail
d=/home/spark/.cache/huggingface; while [ ! -d "$d" ]; do d=$(dirname "$d"); done
cached=0; if [ -d /home/spark/.cache/huggingface/hub/models--deepseek-ai--DeepSeek-V4-Flash ]; then cached=$(du -s -BG -L /home/spark/.cache/huggingface/hub/models--deepseek-ai--DeepSeek-V4-Flash | awk '{print int($1)}'); fi
need=$(( (160 - cached > 0 ? 160 - cached : 0) + 40 ))
avail=$(df -P -BG "$d" | awk 'NR==2 {print int($4)}')
[ "$avail" -ge "$need" ] || { echo "dgx-spark-vllm: node spark-worker: preflight disk: $avail GB free under $d, need $need GB (weights 160 GB less $cached GB cached, image 40 GB)" >&2; exit 1; }
echo "$avail GB free, need $need GB"
