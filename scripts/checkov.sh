#!/usr/bin/env bash
# Static security checks of the Terraform in infra/ with checkov, installed on first use into its
# own virtualenv under the cache (its dependency pins are heavy). Scans twice: with the defaults,
# and with infra/examples/everything.tfvars so that the parts that are off by default (Airbyte,
# the crawler, a bucket per layer) are checked too. Exits non-zero if either scan fails a check.
# Extra arguments go to checkov (e.g. --check CKV_AWS_117).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(scripts/venv.sh checkov-venv "checkov==3.*")"
checkov=("$venv/bin/checkov" -d infra --framework terraform --skip-download --quiet --compact)
status=0
echo "== checkov: infra/ with its defaults"
"${checkov[@]}" "$@" || status=1
echo "== checkov: infra/ with examples/everything.tfvars"
"${checkov[@]}" --var-file infra/examples/everything.tfvars "$@" || status=1
exit "$status"
