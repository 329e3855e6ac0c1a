#!/usr/bin/env bash
# The linker of `make build`'s arm64 functions: zig's, as cargo-lambda uses it, plus identical-code
# folding. Derived Clone, PartialEq, Hash and drop glue are compiled again in every crate that uses
# them, and folding the copies takes 3-4 % off a function's zip (BENCHMARKS.md, *Zip size*).
# `zig cc` refuses `--icf`, so it links once as usual, printing the lld commands it runs, and the
# one writing the output (the others build glibc's stubs) runs again over the same objects with
# `--icf=all`, and with `-O2` (string tails merged), which zig drops when rustc asks for it. Needs
# the tools virtualenv first on PATH, as `make build` sets it.
set -euo pipefail

# The file being linked: rustc passes `-o FILE`, in a response file (`@FILE`) when the line is long.
output=""
previous=""
while read -r arg; do
  [ "$previous" = "-o" ] && output="$arg"
  previous="$arg"
done < <(for arg in "$@"; do
  if [[ "$arg" == @* && -f "${arg#@}" ]]; then cat "${arg#@}"; echo; else printf '%s\n' "$arg"; fi
done)

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
ZIG_VERBOSE_LINK=1 cargo-lambda zig cc -- -g -fno-sanitize=all -target aarch64-linux-gnu "$@" 2>"$log" || status=$?
grep -vE '^(ld\.lld|ar) ' "$log" >&2 || true
[ "$status" -eq 0 ] || exit "$status"

output_link="$(grep -E '^ld\.lld ' "$log" | grep -F -- " -o $output " | tail -n 1 || true)"
if [ -z "$output" ] || [ -z "$output_link" ]; then
  echo "link-arm64: zig printed no lld command writing '$output'; cannot fold identical code" >&2
  exit 1
fi
read -r -a lld_args <<<"${output_link#ld.lld }"
exec python3 -m ziglang ld.lld "${lld_args[@]}" --icf=all -O2
