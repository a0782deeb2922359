#!/usr/bin/env bash
# A private PostgreSQL server for the tests that run on both databases.
#
#   eval "$(bash .ci/services/postgres.sh start)"   # prints export VERTEXD_TEST_POSTGRES_URL=...
#   python -m pytest tests/test_recovery.py          # each test gets its own new database
#   bash .ci/services/postgres.sh stop
#
# `start` installs Debian's postgresql with apt-get when initdb or pg_ctl is missing (without
# the "main" cluster the package would otherwise create and start), makes a data folder in
# $VERTEXD_CI_STATE/postgres (default: a new mktemp folder, remembered in $POINTER), runs
# initdb there (trust authentication, superuser postgres) as the postgres OS user when run as
# root, and starts the server on a free port of 127.0.0.1 with its socket in the data folder.
# `stop` stops that server (pg_ctl stop -m fast, then its pid) and removes the folder.
# Only the `export` line goes to stdout; progress goes to stderr.
set -euo pipefail

POINTER="${TMPDIR:-/tmp}/vertexd-postgres.state"  # where a default (mktemp) state folder is

say() { echo "postgres.sh: $*" >&2; }
RUNUSER="$(command -v runuser || echo /usr/sbin/runuser)"  # util-linux; sbin may be off PATH

# The state folder of this run: $VERTEXD_CI_STATE/postgres, or the one $POINTER names.
state_dir() {
  if [ -n "${VERTEXD_CI_STATE:-}" ]; then
    echo "$VERTEXD_CI_STATE/postgres"
  elif [ -s "$POINTER" ]; then
    cat "$POINTER"
  fi
}

# Debian's server binaries are in /usr/lib/postgresql/VERSION/bin, not on PATH.
bin_dir() {
  local found
  if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return
  fi
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -n "$found" ] && [ -x "$found/pg_ctl" ] && [ -x "$found/initdb" ]; then
    echo "$found"
  fi
}

install_server() {
  [ -n "$(bin_dir)" ] && return
  say "installing postgresql"
  # The package would create and start a "main" cluster on port 5432; we start our own.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/vertexd-ci.conf
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  [ -n "$(bin_dir)" ] || { say "no initdb/pg_ctl after installing postgresql"; exit 1; }
}

# Runs a server binary as the postgres OS user (PostgreSQL refuses to run as root).
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    "$RUNUSER" -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

running() {  # the state folder's server answers
  local state="$1"
  [ -f "$state/port" ] && [ -f "$state/data/postmaster.pid" ] || return 1
  kill -0 "$(head -1 "$state/data/postmaster.pid")" 2>/dev/null || return 1
  as_owner "$(bin_dir)/pg_ctl" -D "$state/data" status >/dev/null 2>&1
}

url_of() { echo "postgresql+psycopg://postgres@127.0.0.1:$(cat "$1/port")/postgres"; }

start() {
  install_server
  local bin state port
  bin="$(bin_dir)"
  state="$(state_dir)"
  if [ -n "$state" ] && running "$state"; then
    say "postgres already runs (pid $(head -1 "$state/data/postmaster.pid"))"
    echo "export VERTEXD_TEST_POSTGRES_URL=$(url_of "$state")"
    return
  fi
  if [ -z "$state" ]; then
    state="$(mktemp -d "${TMPDIR:-/tmp}/vertexd-postgres.XXXXXX")"
    echo "$state" >"$POINTER"
  fi
  rm -rf "$state/data"
  mkdir -p "$state"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$state"
    # The postgres user must be able to reach the folder (mktemp folders are 0700 root).
    local parent="$state"
    while parent="$(dirname "$parent")" && [ "$parent" != / ]; do
      "$RUNUSER" -u postgres -- test -x "$parent" || chmod a+x "$parent"
    done
  fi
  chmod 700 "$state"
  say "initdb in $state/data ($bin)"
  if ! as_owner "$bin/initdb" -D "$state/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
    >"$state/initdb.log" 2>&1; then
    tail -20 "$state/initdb.log" >&2
    exit 1
  fi
  port="${VERTEXD_POSTGRES_PORT:-$(free_port)}"
  echo "$port" >"$state/port"
  say "starting postgres on 127.0.0.1:$port"
  if ! as_owner "$bin/pg_ctl" -D "$state/data" -l "$state/postgres.log" -w -t 60 \
    -o "-p $port -k $state/data -c listen_addresses=127.0.0.1" start >&2; then
    tail -20 "$state/postgres.log" >&2
    exit 1
  fi
  echo "export VERTEXD_TEST_POSTGRES_URL=$(url_of "$state")"
}

stop() {
  local state pid="" waited=0
  state="$(state_dir)"
  if [ -z "$state" ] || [ ! -d "$state" ]; then
    say "no postgres of ours runs"
    rm -f "$POINTER"
    return 0
  fi
  if [ -f "$state/data/postmaster.pid" ]; then
    pid="$(head -1 "$state/data/postmaster.pid")"
    if [ -n "$(bin_dir)" ]; then
      as_owner "$(bin_dir)/pg_ctl" -D "$state/data" stop -m fast -w -t 30 >&2 || true
    fi
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do
        sleep 0.1
        waited=$((waited + 1))
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    say "stopped postgres (pid $pid)"
  fi
  rm -rf "$state"
  if [ -z "${VERTEXD_CI_STATE:-}" ]; then rm -f "$POINTER"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
