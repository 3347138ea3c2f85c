#!/usr/bin/env bash
# Installs the real vLLM from PyPI into a venv under a cache folder, for the vLLM surface: the
# serve-argument dump (scripts/vllm-surface.py writes src/models/vllm-surface/<version>.json) and
# the test that runs vLLM's own `vllm serve` parser on every stack's argv (test/vllm, `npm run
# test:vllm`). Only the parser runs, on CPU. Every package is pinned in scripts/vllm-venv.lock and
# installed with --no-deps: vLLM's GPU kernel packages and triton are left out (the parser imports
# none of them); torch's CUDA libraries stay, because the PyPI torch does not import without them.
# Idempotent (a second run only checks). Prints the venv's python on stdout.
# usage: scripts/vllm-venv.sh           install (or check) the venv
#        scripts/vllm-venv.sh --lock    re-resolve scripts/vllm-venv.lock from vLLM's METADATA (a scratch venv)
# env:   DSV_VLLM_VENV (default ${XDG_CACHE_HOME:-$HOME/.cache}/dgx-spark-vllm/vllm-<version>)
set -euo pipefail
VLLM_VERSION=0.33.0
# The torch vllm 0.33.0's METADATA pins (Requires-Dist: torch==2.14.0).
TORCH_VERSION=2.14.0
HERE=$(cd "$(dirname "$0")" && pwd)
LOCK=$HERE/vllm-venv.lock
VENV=${DSV_VLLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/dgx-spark-vllm/vllm-$VLLM_VERSION}
PIP=(--disable-pip-version-check --no-input -q)

check() {
  "$1/bin/python" - "$VLLM_VERSION" <<'PY' >/dev/null 2>&1
import os, sys
os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
import vllm
import vllm.entrypoints.cli.serve  # noqa: F401 (what the serve parser imports)
sys.exit(vllm.__version__ != sys.argv[1])
PY
}

if [ "${1:-}" = "--lock" ]; then
  # vLLM's and torch's requirements from their METADATA, minus the GPU kernel packages, resolved by
  # pip in a scratch venv, then frozen (triton dropped: torch pulls it, the parser never imports it).
  SCRATCH=$(mktemp -d)
  trap 'rm -rf "$SCRATCH"' EXIT
  python3 -m venv "$SCRATCH/venv" >&2
  "$SCRATCH/venv/bin/pip" install "${PIP[@]}" --no-deps "vllm==$VLLM_VERSION" "torch==$TORCH_VERSION" >&2
  "$SCRATCH/venv/bin/python" - >"$SCRATCH/requirements.txt" <<'PY'
import re
from importlib.metadata import requires
from pip._vendor.packaging.requirements import Requirement

SKIP = re.compile(
    r"^(torch|torchaudio|torchvision|torchcodec|triton|pynvvideocodec|flashinfer-python|tilelang|nvtx"
    r"|fastsafetensors|instanttensor|quack-kernels|tokenspeed-mla|humming-kernels|nvidia-cudnn-frontend"
    r"|nvidia-cutlass-dsl)$"
)
for dist in ("vllm", "torch"):
    for line in requires(dist) or []:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        if not SKIP.match(req.name.lower().replace("_", "-")):
            print(str(req).split(";")[0].strip())
PY
  "$SCRATCH/venv/bin/pip" install "${PIP[@]}" -r "$SCRATCH/requirements.txt" >&2
  check "$SCRATCH/venv" || { echo "vllm-venv --lock: vllm $VLLM_VERSION does not import" >&2; exit 1; }
  {
    echo "# Every package of the vLLM $VLLM_VERSION parser venv (scripts/vllm-venv.sh installs it with --no-deps)."
    echo "# Made by \`scripts/vllm-venv.sh --lock\`: vllm==$VLLM_VERSION and torch==$TORCH_VERSION, then their"
    echo "# METADATA requirements without the GPU kernel packages, resolved by pip and frozen (triton dropped)."
    "$SCRATCH/venv/bin/pip" freeze --all --disable-pip-version-check | grep -v -i -E '^(triton|pip)=='
  } >"$LOCK"
  echo "$LOCK"
  exit 0
fi

if ! check "$VENV"; then
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install "${PIP[@]}" --no-deps -r "$LOCK" >&2
  check "$VENV" || { echo "vllm-venv: vllm $VLLM_VERSION does not import in $VENV" >&2; exit 1; }
fi
echo "$VENV/bin/python"
