#!/usr/bin/env bash
# The local AWS endpoint for the tests: moto's server (S3, SQS, Glue, Secrets Manager, …) on
# 127.0.0.1:$LAKEHOUSE_MOTO_PORT, reused if already running.
#   scripts/moto.sh start   start (or reuse) it and print its endpoint URL
#   scripts/moto.sh stop    stop it
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LAKEHOUSE_CACHE:-$HOME/.cache/lakehouse}"
port="${LAKEHOUSE_MOTO_PORT:-5055}"
endpoint="http://127.0.0.1:$port"
pidfile="$cache/moto.pid"

answers() { curl -sf -o /dev/null "$endpoint/moto-api/" 2>/dev/null; }

start() {
  if answers; then echo "$endpoint"; return 0; fi
  venv="$(scripts/python-env.sh)"
  echo "moto: starting on 127.0.0.1:$port" >&2
  nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$cache/moto.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    if answers; then echo "$endpoint"; return 0; fi
    sleep 0.2
  done
  echo "moto: did not answer within 20 s; see $cache/moto.log" >&2
  return 1
}

stop() {
  if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
