#!/bin/bash
# Model delivery on one node (src/plan/weights.ts): the variable block in front sets NODE, MODE and
# what the mode needs; PY holds src/host/weights.py, which does the work.
#   fetch  (on the node) download into the node's Hugging Face cache with the image's
#          huggingface_hub, verify every file, re-fetch what is corrupt or partial. stdin: the HF
#          token (or nothing); it reaches the container by name (-e HF_TOKEN), never as text.
#   copy   (on the head) push the head's verified files to TARGET over its data-plane addresses
#          (SSH, one stream per address), resuming partial files; verify there, re-copy what is bad.
#   local  (on the node) verify the local copy under LOCAL_PATH; no network.
: "${NODE:?}" "${MODE:?}" "${PY:?}"

weights_py() {
  local f
  f=$(mktemp /tmp/dgx-spark-vllm-weights.XXXXXX)
  printf '%s\n' "$PY" >"$f"
  echo "$f"
}

case "$MODE" in
  fetch)
    HF_TOKEN=
    IFS= read -r HF_TOKEN || true
    export HF_TOKEN
    endpoint=()
    if [ -n "${HUB_ENDPOINT:-}" ]; then endpoint=(-e "HF_ENDPOINT=$HUB_ENDPOINT"); fi
    docker run --rm --network host --entrypoint python3 \
      -e HF_TOKEN -e HF_HUB_DISABLE_PROGRESS_BARS=1 -e HF_HUB_ENABLE_HF_TRANSFER=0 "${endpoint[@]}" \
      -v "$HOST_HF:$CONTAINER_HF" "$IMAGE" -c "$PY" fetch "$REPO" "$REVISION" "$CONTAINER_HF/hub" "$NODE" \
      || {
        echo "dgx-spark-vllm: node $NODE: weights: downloading $REPO failed (above): check the HF token has access to the gated model, the revision and the disk space" >&2
        exit 1
      }
    ;;
  copy)
    py=$(weights_py)
    trap 'rm -f "$py"' EXIT
    python3 "$py" copy "$SRC_DIR" "$REVISION" "$NODE" "$TARGET" "$TARGET_USER" "$TARGET_DIR" "$ADDRS" "${PEER_SSH[@]}" || {
      echo "dgx-spark-vllm: node $NODE: weights: copying to $TARGET failed (above); run pulumi up again to resume" >&2
      exit 1
    }
    ;;
  local)
    python3 -c "$PY" local "$LOCAL_PATH" "$REVISION" "$NODE"
    ;;
  *)
    echo "dgx-spark-vllm: node $NODE: weights: unknown mode $MODE" >&2
    exit 2
    ;;
esac
