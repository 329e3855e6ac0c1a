#!/usr/bin/env bash
# A private MariaDB for the tests: installed from Debian's packages when missing, initialised in
# a data folder under the cache, started on 127.0.0.1:$LAKEHOUSE_MARIADB_PORT, reused if running.
#   scripts/mariadb.sh start   start (or reuse) it and print its admin URL
#   scripts/mariadb.sh stop    stop it
set -euo pipefail

cache="${LAKEHOUSE_CACHE:-$HOME/.cache/lakehouse}"
datadir="$cache/mariadb/data"
port="${LAKEHOUSE_MARIADB_PORT:-3307}"
socket="$cache/mariadb/mariadb.sock"
pidfile="$cache/mariadb/mariadb.pid"
url="mysql://root@127.0.0.1:$port"

log() { echo "mariadb: $*" >&2; }

answers() { mariadb-admin --no-defaults --protocol=tcp -h 127.0.0.1 -P "$port" -u root ping >/dev/null 2>&1; }

install_packages() {
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] && return 0
  log "installing mariadb-server from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >&2
}

start() {
  if answers; then echo "$url"; return 0; fi
  install_packages
  export PATH="$PATH:/usr/sbin"
  mkdir -p "$cache/mariadb"
  if [ ! -d "$datadir/mysql" ]; then
    log "initialising $datadir"
    rm -rf "$datadir"
    mariadb-install-db --no-defaults --datadir="$datadir" --user=root \
      --auth-root-authentication-method=normal --skip-test-db >"$cache/mariadb/install.log" 2>&1
  fi
  log "starting on 127.0.0.1:$port"
  nohup mariadbd --no-defaults --datadir="$datadir" --user=root --bind-address=127.0.0.1 \
    --port="$port" --socket="$socket" --pid-file="$pidfile" --skip-name-resolve \
    --innodb-log-file-size=16M --innodb-buffer-pool-size=256M --max-connections=500 \
    >"$cache/mariadb/server.log" 2>&1 &
  for _ in $(seq 1 100); do
    if answers; then echo "$url"; return 0; fi
    sleep 0.2
  done
  log "did not answer within 20 s; see $cache/mariadb/server.log"
  tail -n 20 "$cache/mariadb/server.log" >&2 || true
  return 1
}

stop() {
  if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
