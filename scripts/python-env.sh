#!/usr/bin/env bash
# The Python tools the tests and the build use, in one virtualenv under the cache:
# moto (the local AWS endpoint), DuckDB with its delta extension (an independent Delta reader)
# and cargo-lambda (with zig). Prints the virtualenv's folder.
set -euo pipefail
cache="${LAKEHOUSE_CACHE:-$HOME/.cache/lakehouse}"
venv="$cache/venv"
wanted=("moto[server]==5.*" "duckdb==1.4.4" "duckdb-ext-delta" "cargo-lambda==1.*")
stamp="$venv/.installed-$(printf '%s\n' "${wanted[@]}" | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "python-env: installing ${wanted[*]} into $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${wanted[@]}" >&2
  touch "$stamp"
fi
echo "$venv"
