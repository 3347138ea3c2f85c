# shellcheck source=/dev/null
set -a; . /run/dgx-spark-vllm/secrets.env || { echo 'dgx-spark-vllm: cannot read the secrets file /run/dgx-spark-vllm/secrets.env (written by the secrets-file step): run pulumi up' >&2; exit 1; }; set +a; exec "$@"
