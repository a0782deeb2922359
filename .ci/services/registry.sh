#!/usr/bin/env bash
# A private image registry (Debian's docker-registry, the CNCF distribution registry) with
# htpasswd authentication, for the tests that pull images through vertexd.
#
#   eval "$(bash .ci/services/registry.sh start)"   # prints export VERTEXD_TEST_REGISTRY... lines
#   python -m pytest tests/test_containers_pull.py
#   bash .ci/services/registry.sh stop
#
# It listens on plain HTTP at $VERTEXD_TEST_REGISTRY (default 127.0.0.1:5055): Docker takes
# loopback registries as insecure on its own, and .ci/services/podman.sh marks this one so
# for Podman. Its storage lies under $VERTEXD_CI_STATE/registry; the user and password are
# made at start and printed for the tests. `stop` stops it by its pid.
# Only `export` lines go to stdout; progress goes to stderr.
set -euo pipefail

STATE="${VERTEXD_CI_STATE:-/tmp/vertexd-registry-state}/registry"
ADDRESS="${VERTEXD_TEST_REGISTRY:-127.0.0.1:5055}"
PIDFILE="$STATE/registry.pid"
USER_NAME="vertexd-test"

say() { echo "registry.sh: $*" >&2; }

install_tools() {
  local missing=()
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  command -v curl >/dev/null || missing+=(curl)
  [ ${#missing[@]} -eq 0 ] && return
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

answers() { curl -s -o /dev/null -w '%{http_code}' "http://$ADDRESS/v2/" 2>/dev/null | grep -q 401; }

start() {
  install_tools
  mkdir -p "$STATE/data"
  [ -s "$STATE/password" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$STATE/password"
  if ! { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && answers; }; then
    if answers; then
      say "another registry already listens at $ADDRESS (set VERTEXD_TEST_REGISTRY to another address)"
      exit 1
    fi
    htpasswd -Bbc "$STATE/htpasswd" "$USER_NAME" "$(cat "$STATE/password")" 2>/dev/null
    cat >"$STATE/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/data
  delete:
    enabled: true
http:
  addr: $ADDRESS
auth:
  htpasswd:
    realm: vertexd-test
    path: $STATE/htpasswd
EOF
    say "starting docker-registry at $ADDRESS"
    setsid docker-registry serve "$STATE/config.yml" </dev/null >"$STATE/registry.log" 2>&1 &
    echo $! >"$PIDFILE"
    local waited=0
    until answers; do
      kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -5 "$STATE/registry.log" >&2; exit 1; }
      [ $waited -lt 100 ] || { say "the registry did not answer"; exit 1; }
      sleep 0.1; waited=$((waited + 1))
    done
  fi
  echo "export VERTEXD_TEST_REGISTRY=$ADDRESS"
  echo "export VERTEXD_TEST_REGISTRY_USER=$USER_NAME"
  echo "export VERTEXD_TEST_REGISTRY_PASSWORD=$(cat "$STATE/password")"
}

stop() {
  [ -f "$PIDFILE" ] || { say "no registry of ours runs"; return 0; }
  local pid waited=0
  pid="$(cat "$PIDFILE")"
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 50 ]; do sleep 0.1; waited=$((waited + 1)); done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  say "stopped the registry (pid $pid)"
  if [ -n "${VERTEXD_CI_STATE:-}" ]; then rm -rf "$STATE" 2>/dev/null || true; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
