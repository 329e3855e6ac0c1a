#!/usr/bin/env bash
# A virtualenv under the cache holding exactly the given packages: `scripts/venv.sh NAME PKG...`
# creates or updates `~/.cache/lakehouse/NAME` (LAKEHOUSE_CACHE moves it) when the package list
# changed, and prints its folder. The test tools, checkov and the benchmark peers each use one.
set -euo pipefail
name="$1"
shift
venv="${LAKEHOUSE_CACHE:-$HOME/.cache/lakehouse}/$name"
stamp="$venv/.installed-$(printf '%s\n' "$@" | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "venv: installing $* into $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
  touch "$stamp"
fi
echo "$venv"
