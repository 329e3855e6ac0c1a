#!/usr/bin/env bash
# The benchmark suite (`make bench`): our pipeline stage by stage against its peers, on the same
# landing files, with the Gold checksums compared. See BENCHMARKS.md.
#
#   BENCH_SIZE=small|medium|large   about 10k / 100k / 1M orders (default medium)
#   BENCH_PEERS="python_deltalake pyspark_local"   the peers to run (default both; "" for none)
#   BENCH_REPEATS=3                  runs of each pipeline, alternated; the summary takes medians
#                                    (PySpark, the slowest by far, runs once)
#   LAKEHOUSE_BIN, LAKEHOUSE_BENCH_BIN   the binaries (default: the release builds)
#   BENCH_WORK                       the scratch folder (default <cache>/bench/<size>, emptied)
#
# Writes bench/results/<size>-<date>.json, prints a Markdown table, and exits non-zero when the
# implementations' Gold checksums disagree.
set -euo pipefail
cd "$(dirname "$0")/.."

size="${BENCH_SIZE:-medium}"
case "$size" in
  small) orders=10000 ;;
  medium) orders=100000 ;;
  large) orders=1000000 ;;
  *) echo "bench: BENCH_SIZE must be small, medium or large, not '$size'" >&2; exit 2 ;;
esac
cache="${LAKEHOUSE_CACHE:-$HOME/.cache/lakehouse}"
target="${CARGO_TARGET_DIR:-$cache/target}"
lakehouse="${LAKEHOUSE_BIN:-$target/release/lakehouse}"
bench_bin="${LAKEHOUSE_BENCH_BIN:-$target/release/lakehouse-bench}"
peers="${BENCH_PEERS-python_deltalake pyspark_local}"
repeats="${BENCH_REPEATS:-3}"
[[ "$repeats" =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_REPEATS must be a whole number from 1, not '$repeats'" >&2; exit 2; }
work="${BENCH_WORK:-$cache/bench/$size}"
# The functions whose cold start is measured, each with a sample event that does little work.
# (seed-rds is left out: its first event seeds the database.)
declare -A cold_events=(
  [extract-rds]=events/extract-rds/scheduled.json
  [write-bronze]=events/write-bronze/sqs-s3-test-event.json
  [write-silver]=events/write-silver/scheduled.json
  [write-gold]=events/write-gold/scheduled.json
)
functions=(extract-rds write-bronze write-silver write-gold)

log() { echo "bench: $*" >&2; }
[ -x "$lakehouse" ] || { log "$lakehouse is missing: cargo build --release -p lakehouse"; exit 2; }
[ -x /usr/bin/time ] || { log "/usr/bin/time is missing: apt-get install time"; exit 2; }

python="$(bench/env.sh)/bin/python"
rm -rf "$work"
mkdir -p "$work"/{logs,landing,checksums,rows}
lake="$work/lakehouse/lake"
{ git describe --always --dirty 2>/dev/null || echo unknown; } >"$work/commit"
measurements="$work/measurements.jsonl"

# measure IMPLEMENTATION STAGE COMMAND...: runs COMMAND under /usr/bin/time -v (stdout and stderr
# to logs/) and records its wall time, CPU time (user + system) and peak RSS, with the repeat it
# belongs to ($repeat; 0 for the seeding and extraction, which run once).
repeat=0
measure() {
  local implementation="$1" stage="$2"; shift 2
  local name="$implementation.$stage.$repeat" begun ended rss
  log "$implementation: $stage$([ "$repeat" = 0 ] || echo " (run $repeat of $repeats)")"
  begun="$(date +%s%N)"
  if ! /usr/bin/time -v -o "$work/logs/$name.time" "$@" >"$work/logs/$name.out" 2>"$work/logs/$name.err"; then
    log "$implementation $stage failed; the end of $work/logs/$name.err:"
    tail -n 20 "$work/logs/$name.err" >&2
    exit 1
  fi
  ended="$(date +%s%N)"
  rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/logs/$name.time")"
  cpu="$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$work/logs/$name.time")"
  printf '{"implementation": "%s", "stage": "%s", "repeat": %s, "wall_s": %s, "cpu_s": %s, "peak_rss_kib": %s}\n' \
    "$implementation" "$stage" "$repeat" "$(( (ended - begun) / 1000000 ))e-3" "$cpu" "$rss" >>"$measurements"
}

# The source: a fresh database on the private MariaDB, dropped on exit.
admin_url="$(scripts/mariadb.sh start)"
[[ "$admin_url" =~ ^mysql://([^@:]+)@([^:/]+):([0-9]+)$ ]] || { log "unexpected MariaDB URL $admin_url"; exit 1; }
db_user="${BASH_REMATCH[1]}" db_host="${BASH_REMATCH[2]}" db_port="${BASH_REMATCH[3]}"
sql() { mariadb --no-defaults --protocol=tcp -u "$db_user" -h "$db_host" -P "$db_port" -e "$1"; }
database="lakehouse_bench_${size}_$$"
sql "CREATE DATABASE $database"
trap 'sql "DROP DATABASE IF EXISTS $database" || true' EXIT
source_url="$admin_url/$database"
lh=("$lakehouse" --source "$source_url" --lake "$lake" --pipeline pipelines/shop)

log "seeding $orders orders, $((orders / 3)) customers, 2000 products"
measure lakehouse seed "${lh[@]}" seed --orders "$orders" --customers "$((orders / 3))" --products 2000

# Extraction, once: the initial round, then an activity round (seed on a seeded source: ~5% new,
# ~10% changed rows) extracted again. Each round's landing files are kept aside for every
# pipeline, ours included.
for round in initial incremental; do
  if [ "$round" = incremental ]; then
    measure lakehouse activity "${lh[@]}" seed --orders "$orders" --customers "$((orders / 3))" --products 2000
  fi
  measure lakehouse "extract_$round" "${lh[@]}" extract
  # This round's landing files: those not copied for an earlier round.
  (cd "$lake/landing" && find . -name '*.parquet' | sort) | while read -r file; do
    [ -e "$work/landing/initial/$file" ] && continue
    mkdir -p "$(dirname "$work/landing/$round/$file")"
    cp "$lake/landing/$file" "$work/landing/$round/$file"
  done
  "$python" bench/report.py rows parquet "$work/landing/$round" >"$work/rows/landing_$round"
done

# pipeline_ours: our pipeline, one process per stage, over the kept landing files, round by
# round, in the extraction's lake emptied of all but its extraction state.
pipeline_ours() {
  rm -rf "${lake:?}"/{landing,bronze,silver,gold,quarantine}
  for round in initial incremental; do
    mkdir -p "$lake/landing" && cp -r "$work/landing/$round/." "$lake/landing/"
    measure lakehouse "bronze_$round" "${lh[@]}" ingest
    measure lakehouse "silver_$round" "${lh[@]}" refine
    [ -f "$work/rows/silver_$round" ] || "$python" bench/report.py rows delta "$lake/silver" >"$work/rows/silver_$round"
    measure lakehouse "gold_$round" "${lh[@]}" gold
  done
}

# pipeline_peer PEER: a peer's whole pipeline, one process, in a lake of its own.
pipeline_peer() {
  local peer="$1"
  rm -rf "${work:?}/$peer"
  measure "$peer" process "$python" bench/peers/"$peer".py --pipeline pipelines/shop \
    --lake "$work/$peer/lake" --checksum "$work/checksums/$peer.json" \
    "$work/landing/initial" "$work/landing/incremental"
  # The peer's own stage timings: a line per run, in the order of the runs.
  tail -n 1 "$work/logs/$peer.process.$repeat.out" >>"$work/$peer.json"
}

# The pipelines, alternated so that a change in the machine's load falls on all of them: each
# repeat runs ours, the arrow-rs floor and the Python peer; PySpark runs in the first repeat only.
# Extraction is over by now: the source is idle while any pipeline runs.
for repeat in $(seq 1 "$repeats"); do
  pipeline_ours
  if [ -x "$bench_bin" ]; then
    # The physical floor: `lakehouse-bench floor <in> <out>` reads every Parquet file under <in>
    # with arrow-rs alone and writes it to the same relative path under <out>: no Delta, no
    # transforms.
    for round in initial incremental; do
      rm -rf "$work/floor/$round"
      measure arrow-rs-floor "bronze_$round" "$bench_bin" floor "$work/landing/$round" "$work/floor/$round"
    done
  fi
  for peer in $peers; do
    [ "$peer" = pyspark_local ] && [ "$repeat" -gt 1 ] && continue
    pipeline_peer "$peer"
  done
done
"$python" bench/checksum.py delta "$lake/gold" "$work/checksums/lakehouse.json"

# --- Rust-side hooks (the lakehouse-bench binary) ---------------------------------------------
if [ -x "$bench_bin" ]; then
  # Cold start: `lakehouse-bench cold-start <function-binary> <event.json>` starts the function
  # once and prints one JSON line (init_ms, first_event_ms); five fresh processes per function.
  # The functions read this run's lake and source from the environment.
  for fn in "${functions[@]}"; do
    if [ -x "$target/release/$fn" ]; then
      log "$fn: cold start"
      for _ in 1 2 3 4 5; do
        LAKEHOUSE_LAKE="$lake" LAKEHOUSE_SOURCE_URL="$source_url" LAKEHOUSE_PIPELINE=pipelines/shop \
          AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
          "$bench_bin" cold-start "$target/release/$fn" "${cold_events[$fn]}" >>"$work/cold_start.jsonl" \
          2>>"$work/logs/cold-start.err" || log "cold start of $fn failed: see $work/logs/cold-start.err"
      done
    else
      log "cold start of $fn skipped: $target/release/$fn is not built"
    fi
  done
else
  log "floor and cold start skipped: $bench_bin is not built"
fi
# Zip sizes: the arm64 zips that `make build` leaves.
for fn in "${functions[@]}" seed-rds; do
  zip="$target/lambda-arm64/$fn/bootstrap.zip"
  [ -f "$zip" ] && printf '{"function": "%s", "bytes": %s}\n' "$fn" "$(stat -c %s "$zip")" >>"$work/zips.jsonl"
done
[ -f "$work/zips.jsonl" ] || log "zip sizes skipped: no zips under $target/lambda-arm64 (make build)"

mkdir -p bench/results
results="bench/results/$size-$(date -u +%Y-%m-%dT%H%M%SZ).json"
"$python" bench/report.py summary "$work" "$size" "$results"
checksums=(lakehouse="$work/checksums/lakehouse.json")
for peer in $peers; do checksums+=("$peer=$work/checksums/$peer.json"); done
"$python" bench/compare_checksums.py "${checksums[@]}"
