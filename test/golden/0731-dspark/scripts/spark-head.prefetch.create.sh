set -euo pipefail
HF_TOKEN=; IFS= read -r HF_TOKEN || true
export HF_TOKEN
docker run --rm --network host --entrypoint python3 -e HF_TOKEN -e HF_HUB_ENABLE_HF_TRANSFER=0 -v /home/spark/.cache/huggingface:/root/.cache/huggingface eugr/spark-vllm-b12x:latest -c 'from huggingface_hub import snapshot_download; snapshot_download(repo_id="deepseek-ai/DeepSeek-V4-Flash-0731")' || { echo 'dgx-spark-vllm: node spark-head: prefetch: downloading deepseek-ai/DeepSeek-V4-Flash-0731 failed: check the HF token has access to the gated model and the disk space' >&2; exit 1; }
