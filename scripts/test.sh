#!/usr/bin/env bash
# The test command: starts every service the tests need, then runs the whole suite.
#   - a private MariaDB on 127.0.0.1 (scripts/mariadb.sh)
#   - the Python tools in a virtualenv (scripts/python-env.sh): moto, DuckDB, cargo-lambda
#   - moto's server as the local AWS endpoint (scripts/moto.sh), with test credentials
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lakehouse/target}"

LAKEHOUSE_TEST_MYSQL_URL="$(scripts/mariadb.sh start)"
export LAKEHOUSE_TEST_MYSQL_URL

if venv="$(scripts/python-env.sh)"; then
  export LAKEHOUSE_TEST_PYTHON="$venv/bin/python"
  export PATH="$venv/bin:$PATH"
else
  echo "test.sh: the Python tools could not be installed; tests that need them will say so" >&2
fi

# The Terraform test runs checkov too (it installs into its own virtualenv on first use).
export LAKEHOUSE_TEST_CHECKOV=1

AWS_ENDPOINT_URL="$(scripts/moto.sh start)"
export AWS_ENDPOINT_URL AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true

cargo test --workspace --locked "$@"
