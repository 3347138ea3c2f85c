set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
key=; IFS= read -r key || true
hdr=$(mktemp); chmod 600 "$hdr"
# --- node access (the one seam): on_node NODE COMMAND runs the shell COMMAND on NODE ---
on_node() {
  case "$1" in
    spark-head) bash -c "$2" ;;
    spark-worker) ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p 22 spark@spark-worker.local "$2" ;;
    *) echo "dgx-spark-vllm: no access to unknown node $1" >&2; return 2 ;;
  esac
}
# --- end of node access ---
cleanup() {
  rc=$?; rm -f "$hdr"
  [ "$rc" -eq 0 ] && return 0 # ready: the per-node stop steps (which wait for this gate) remove the sidecars
  on_node spark-head 'docker rm -f dgx-spark-vllm-drop-caches-spark-head >/dev/null 2>&1 || true' </dev/null & pids="${pids:-} $!"
  on_node spark-worker 'docker rm -f dgx-spark-vllm-drop-caches-spark-worker >/dev/null 2>&1 || true' </dev/null & pids="${pids:-} $!"
  ok=1; for p in ${pids:-}; do wait "$p" || ok=0; done
  if [ "$ok" = 1 ]; then echo 'dgx-spark-vllm: drop-caches sidecars removed on spark-head, spark-worker' >&2; else echo 'dgx-spark-vllm: readiness: could not reach every node to remove its drop-caches sidecar (each expires on its own)' >&2; fi
}
trap cleanup EXIT
if [ -n "$key" ]; then printf 'Authorization: Bearer %s\n' "$key" > "$hdr"; fi
deadline=$(( $(date +%s) + 1800 )); last="no answer yet"
while :; do
  if code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 http://127.0.0.1:8000/health) && [ "$code" = 200 ]; then
    if body=$(curl -fsS -m 10 -H @"$hdr" http://127.0.0.1:8000/v1/models 2>&1); then
      got=$(printf '%s' "$body" | tr -d ' \n' | grep -o '"id":"deepseek-v4"[^}]*"max_model_len":[0-9]*' | grep -o '[0-9]*$' | head -n1 || true)
      if [ "$got" = 524288 ]; then echo "ready: deepseek-v4 max_model_len=$got"; exit 0; fi
      last="/v1/models reports max_model_len='$got' for deepseek-v4, expected 524288"
    else last="/v1/models: $body"; fi
  else last="/health: HTTP ${code:-none}"; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then echo "dgx-spark-vllm: node spark-head: readiness: not ready after 1800 s; last error: $last" >&2; exit 1; fi
  sleep 10
done
