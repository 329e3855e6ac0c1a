#!/usr/bin/env bash
# The Python tools the tests and the build use, in one virtualenv under the cache:
# moto (the local AWS endpoint), DuckDB with its delta extension (an independent Delta reader)
# cargo-lambda (with zig) and libdeflate (scripts/repack-zip.py). Prints the virtualenv's folder.
set -euo pipefail
exec "$(dirname "$0")/venv.sh" venv "moto[server]==5.*" "duckdb==1.4.4" "duckdb-ext-delta" "cargo-lambda==1.*" "deflate==0.9.*"
