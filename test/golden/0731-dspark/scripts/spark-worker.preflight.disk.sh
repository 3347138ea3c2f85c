set -euo pipefail
node=spark-worker
weights=160; image=40
d=/home/spark/.cache/huggingface; while [ ! -d "$d" ]; do d=$(dirname "$d"); done
cached=0; if [ -d /home/spark/.cache/huggingface/hub/models--deepseek-ai--DeepSeek-V4-Flash-0731 ]; then cached=$(du -s -BG -L /home/spark/.cache/huggingface/hub/models--deepseek-ai--DeepSeek-V4-Flash-0731 | awk '{print int($1)}'); fi
need=$(( (weights - cached > 0 ? weights - cached : 0) + image ))
avail=$(df -P -BG "$d" | awk 'NR==2 {print int($4)}')
[ "$avail" -ge "$need" ] || { echo "dgx-spark-vllm: node $node: preflight disk: $avail GB free under $d, need $need GB (weights $weights GB less $cached GB cached, image $image GB)" >&2; exit 1; }
echo "$avail GB free, need $need GB"
