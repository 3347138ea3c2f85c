#!/usr/bin/env bash
# Installs the real huggingface_hub client from PyPI into a venv under a cache folder, for the
# weights rehearsal (test/rehearsal/weights.test.ts): the simulated Sparks' docker stand-in runs
# the prefetch with this Python, as the image's Python runs it on a Spark. Pinned version;
# idempotent (a second run only checks). Prints the venv's python on stdout.
# usage: scripts/hf-venv.sh        env: DSV_HF_VENV (default /var/cache/dgx-spark-vllm/hf-venv-<version>)
set -euo pipefail
HF_HUB_VERSION=0.36.0
VENV=${DSV_HF_VENV:-/var/cache/dgx-spark-vllm/hf-venv-$HF_HUB_VERSION}
if ! "$VENV/bin/python" -c "import huggingface_hub, sys; sys.exit(huggingface_hub.__version__ != '$HF_HUB_VERSION')" 2>/dev/null; then
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check "huggingface_hub==$HF_HUB_VERSION" >&2
fi
# Readable by the simulated hosts' users.
chmod -R a+rX "$VENV"
echo "$VENV/bin/python"
