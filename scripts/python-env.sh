#!/usr/bin/env bash
# The Python tools the tests and the build use, in one virtualenv under the cache:
# moto (the local AWS endpoint), DuckDB with its delta extension (an independent Delta reader)
# and cargo-lambda (with zig). Prints the virtualenv's folder.
set -euo pipefail
exec "$(dirname "$0")/venv.sh" venv "moto[server]==5.*" "duckdb==1.4.4" "duckdb-ext-delta" "cargo-lambda==1.*"
