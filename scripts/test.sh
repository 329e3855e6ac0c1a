#!/usr/bin/env bash
# The test command: starts the services the tests need, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lakehouse/target}"
LAKEHOUSE_TEST_MYSQL_URL="$(scripts/mariadb.sh start)"
export LAKEHOUSE_TEST_MYSQL_URL
cargo test --workspace --locked "$@"
