#!/bin/bash
# Model delivery on one node (src/plan/weights.ts): the variable block in front sets NODE, MODE and
# what the mode needs; PY holds src/host/weights.py, which does the work.
#   fetch  (on the node) download into the node's Hugging Face cache with the image's
#          huggingface_hub, verify every file, re-fetch what is corrupt or partial. stdin: the HF
#          token (or nothing); it reaches the container on its stdin (docker run -i), so it is
#          neither text in a command nor a value in the container's config (docker inspect).
#   copy   (on the head) push the head's verified files to TARGET over its data-plane addresses
#          (SSH, one stream per address), resuming partial files; verify there, re-copy what is bad.
#          If the copy cannot finish, TARGET downloads itself (FALLBACK_B64: its fetch script, run over
#          SSH to its management address with the token on stdin).
#   local  (on the node) verify the local copy under LOCAL_PATH; no network.
: "${NODE:?}" "${MODE:?}" "${PY:?}"

case "$MODE" in
  fetch)
    HF_TOKEN=
    IFS= read -r HF_TOKEN || true
    endpoint=()
    if [ -n "${HUB_ENDPOINT:-}" ]; then endpoint=(-e "HF_ENDPOINT=$HUB_ENDPOINT"); fi
    printf '%s\n' "$HF_TOKEN" | docker run -i --rm --network host --entrypoint python3 \
      -e DSV_TOKEN_ON_STDIN=1 -e HF_HUB_DISABLE_PROGRESS_BARS=1 -e HF_HUB_ENABLE_HF_TRANSFER=0 "${endpoint[@]}" \
      -v "$HOST_HF:$CONTAINER_HF" "$IMAGE" -c "$PY" fetch "$REPO" "$REVISION" "$CONTAINER_HF/hub" "$NODE" \
      || {
        fix="check the HF token has access to the gated model, the revision and the disk space"
        echo "dgx-spark-vllm: node $NODE: weights: downloading $REPO failed (above): $fix" >&2
        exit 1
      }
    ;;
  copy)
    # stdin: the HF token (or nothing), used only when the copy fails and TARGET downloads itself.
    HF_TOKEN=
    IFS= read -r HF_TOKEN || true
    # The program's text also travels in DSV_WEIGHTS_PY: copy runs it on TARGET for its status.
    if ! DSV_WEIGHTS_PY=$PY python3 -c "$PY" copy "$SRC_DIR" "$REVISION" "$NODE" "$TARGET" "$TARGET_USER" "$TARGET_DIR" "$ADDRS" "${PEER_SSH[@]}"; then
      # As safe as delivery each: a copy that cannot finish (link, SSH, permissions, a file that
      # fails verification twice) falls back to TARGET's own download, verified the same way.
      echo "dgx-spark-vllm: node $NODE: weights: the copy to $TARGET failed (above): $TARGET downloads from the hub instead (as delivery each)" >&2
      # FALLBACK_B64: the target's own download script (base64, so it crosses SSH as one plain word).
      # shellcheck disable=SC2029 # expanded here on purpose: the script travels in the command
      printf '%s\n' "$HF_TOKEN" | ssh "${PEER_SSH[@]}" "$TARGET_USER@$TARGET_HOST" "bash -c \"\$(echo $FALLBACK_B64 | base64 -d)\"" || {
        echo "dgx-spark-vllm: node $NODE: weights: neither the copy to $TARGET nor its own download finished (above); run pulumi up again to resume" >&2
        exit 1
      }
    fi
    ;;
  local)
    python3 -c "$PY" local "$LOCAL_PATH" "$REVISION" "$NODE"
    ;;
  *)
    echo "dgx-spark-vllm: node $NODE: weights: unknown mode $MODE" >&2
    exit 2
    ;;
esac
