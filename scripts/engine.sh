#!/usr/bin/env bash
# Finds or builds the real Pulumi engine for the engine rehearsal (test/engine): the `pulumi` CLI,
# the Node.js language host, and the command and docker resource providers.
# - Where `pulumi` is installed and finds both plugins (on PATH or installed with `pulumi plugin
#   install`), it is used as it is and nothing is built: prints the folder that holds `pulumi`.
# - Otherwise builds all four from ../shared/engine (sources at fixed versions plus the Go module
#   proxy) with its build.sh, once per machine, into a cache folder keyed by a hash of
#   ../shared/engine: ${XDG_CACHE_HOME:-~/.cache}/dgx-spark-vllm/engine-<hash>. Prints that folder.
# Exit 3 (one line on stderr) when neither is possible: no Go or no ../shared/engine.
# usage: scripts/engine.sh [--check]   (--check: find only, never build; exit 3 if a build is needed)
# env: DSV_ENGINE_SRC (default ../shared/engine beside the repository), DSV_ENGINE_CACHE (cache root)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SRC="${DSV_ENGINE_SRC:-$ROOT/../shared/engine}"
CACHE="${DSV_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dgx-spark-vllm}"
CHECK_ONLY=${1:-}

plugin_found() { # $1 = command | docker
  command -v "pulumi-resource-$1" >/dev/null 2>&1 && return 0
  pulumi plugin ls 2>/dev/null | awk -v n="$1" '$1 == n && $2 == "resource" { found = 1 } END { exit !found }'
}
if command -v pulumi >/dev/null 2>&1 && plugin_found command && plugin_found docker; then
  dirname "$(command -v pulumi)"
  exit 0
fi

if [ ! -x "$SRC/build.sh" ] && [ ! -f "$SRC/build.sh" ]; then
  echo "engine: no installed pulumi with the command and docker plugins, and no sources at $SRC to build them from" >&2
  exit 3
fi
HASH=$(cd "$SRC" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
OUT="$CACHE/engine-$HASH"
if [ -x "$OUT/pulumi" ] && [ -x "$OUT/pulumi-language-nodejs" ] && [ -x "$OUT/pulumi-resource-command" ] && [ -x "$OUT/pulumi-resource-docker" ]; then
  echo "$OUT"
  exit 0
fi
if [ "$CHECK_ONLY" = "--check" ]; then
  echo "engine: not built yet; scripts/engine.sh builds it into $OUT (about 16 min the first time on 2 cores)" >&2
  exit 3
fi
# Go's own install folder, where a non-login shell's PATH may lack it.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=/usr/local/go/bin:$PATH; fi
if ! command -v go >/dev/null 2>&1; then
  echo "engine: Go is needed to build the Pulumi engine from $SRC, and there is no go on PATH" >&2
  exit 3
fi
mkdir -p "$OUT"
bash "$SRC/build.sh" "$OUT" >&2
echo "$OUT"
