#!/usr/bin/env bash
# A private Docker daemon for the container tests, and the test images built from nothing.
#
#   eval "$(bash .ci/services/docker.sh start)"   # prints export DOCKER_HOST=... lines
#   python -m pytest tests/test_containers*.py
#   bash .ci/services/docker.sh stop
#
# `start` installs docker.io, busybox-static and debootstrap with apt-get when they are
# missing, starts dockerd by hand with its socket, data and exec roots under
# $VERTEXD_CI_STATE/docker (default /tmp/vertexd-docker), and imports two images when the
# daemon lacks them (no registry is reachable, nothing is pulled), as lib/images.sh makes them:
#   vertexd-test/busybox:1    static busybox; ENTRYPOINT echo from-entrypoint, CMD from-cmd
#   vertexd-test/python:3.11  Debian bookworm minbase with python3, pip and fsspec
# The Python root file system takes about a minute of debootstrap the first time; it is
# kept as a tarball in $VERTEXD_IMAGE_CACHE (default /var/cache/vertexd-ci), so a second
# start on the same machine takes seconds. `stop` stops that daemon by its pid.
# Only `export` lines go to stdout; progress goes to stderr.
set -euo pipefail

STATE="${VERTEXD_CI_STATE:-/tmp/vertexd-docker-state}/docker"
SOCKET="$STATE/docker.sock"
PIDFILE="$STATE/dockerd.pid"
# shellcheck source=lib/images.sh
source "$(dirname "$0")/lib/images.sh"  # the test images: BUSYBOX_IMAGE, PYTHON_IMAGE, test_images

say() { echo "docker.sh: $*" >&2; }
dock() { docker -H "unix://$SOCKET" "$@"; }
image_cli() { dock "$@"; }

install_tools() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  mapfile -t -O ${#missing[@]} missing < <(image_tools_missing)
  [ ${#missing[@]} -eq 0 ] && return
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

start_daemon() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && dock version >/dev/null 2>&1; then
    say "dockerd already runs (pid $(cat "$PIDFILE"))"
    return
  fi
  mkdir -p "$STATE"
  local driver
  for driver in overlay2 vfs; do
    say "starting dockerd (storage driver $driver) at $SOCKET"
    setsid dockerd --storage-driver="$driver" --iptables=false --ip6tables=false --bridge=none \
      --host="unix://$SOCKET" --data-root="$STATE/data" --exec-root="$STATE/exec" \
      --pidfile="$PIDFILE" </dev/null >"$STATE/dockerd.log" 2>&1 &
    local pid=$! waited=0
    while [ $waited -lt 300 ]; do
      if dock version >/dev/null 2>&1; then return; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1; waited=$((waited + 1))
    done
    kill "$pid" 2>/dev/null || true
    say "dockerd did not start with $driver:"; tail -5 "$STATE/dockerd.log" >&2
  done
  exit 1
}

start() {
  install_tools
  start_daemon
  test_images
  echo "export DOCKER_HOST=unix://$SOCKET"
  echo "export VERTEXD_TEST_IMAGES=busybox=$BUSYBOX_IMAGE,python=$PYTHON_IMAGE"
}

stop() {
  [ -f "$PIDFILE" ] || { say "no dockerd of ours runs"; return 0; }
  local pid containerd_pid="" waited=0
  pid="$(cat "$PIDFILE")"
  [ -f "$STATE/exec/containerd/containerd.pid" ] && containerd_pid="$(cat "$STATE/exec/containerd/containerd.pid")"
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 200 ]; do sleep 0.1; waited=$((waited + 1)); done
  local clean=yes
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; clean=no; fi
  if [ -n "$containerd_pid" ] && kill -0 "$containerd_pid" 2>/dev/null; then
    kill "$containerd_pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  # dockerd leaves its network namespace mounted in its exec root.
  for mounted in "$STATE"/exec/netns/*; do
    mountpoint -q "$mounted" 2>/dev/null && umount "$mounted" 2>/dev/null || true
  done
  say "stopped dockerd (pid $pid)"
  # A CI run's state is its own temporary folder; a developer's default one keeps the images.
  if [ -n "${VERTEXD_CI_STATE:-}" ] && [ $clean = yes ]; then rm -rf "$STATE" 2>/dev/null || true; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
