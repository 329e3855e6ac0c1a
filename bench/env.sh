#!/usr/bin/env bash
# The benchmark peers' Python: deltalake (delta-rs bindings), polars, pyarrow, pyspark and psutil,
# pinned, in one virtualenv under the cache. Prints the virtualenv's folder.
set -euo pipefail
exec "$(dirname "$0")/../scripts/venv.sh" bench-venv \
  "deltalake==1.6.6" "polars==2.1.0" "pyarrow==26.0.1" "pyspark==4.3.0" "psutil==7.2.2"
