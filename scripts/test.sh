#!/usr/bin/env bash
# The test command: starts the services the tests need, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lakehouse/target}"
cache="${LAKEHOUSE_CACHE:-$HOME/.cache/lakehouse}"

LAKEHOUSE_TEST_MYSQL_URL="$(scripts/mariadb.sh start)"
export LAKEHOUSE_TEST_MYSQL_URL

# An independent Delta reader (DuckDB's delta extension, built on delta-kernel-rs) in a
# virtualenv of its own; the tests that use it say so and skip if it could not be installed.
venv="$cache/venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  python3 -m venv "$venv" >&2 && "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'duckdb==1.4.4' duckdb-ext-delta >&2 || echo "test.sh: could not install duckdb; independent-reader tests will skip" >&2
fi
[ -x "$venv/bin/python" ] && export LAKEHOUSE_TEST_PYTHON="$venv/bin/python"

cargo test --workspace --locked "$@"
