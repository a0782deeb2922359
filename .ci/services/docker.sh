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
# daemon lacks them (no registry is reachable, nothing is pulled):
#   vertexd-test/busybox:1    static busybox; ENTRYPOINT echo from-entrypoint, CMD from-cmd
#   vertexd-test/python:3.11  Debian bookworm minbase with python3, pip and fsspec
# The Python root file system takes about a minute of debootstrap the first time; it is
# kept as a tarball in $VERTEXD_IMAGE_CACHE (default /var/cache/vertexd-ci), so a second
# start on the same machine takes seconds. `stop` stops that daemon by its pid.
# Only `export` lines go to stdout; progress goes to stderr.
set -euo pipefail

STATE="${VERTEXD_CI_STATE:-/tmp/vertexd-docker-state}/docker"
CACHE="${VERTEXD_IMAGE_CACHE:-/var/cache/vertexd-ci}"
SOCKET="$STATE/docker.sock"
PIDFILE="$STATE/dockerd.pid"
BUSYBOX_IMAGE="vertexd-test/busybox:1"
PYTHON_IMAGE="vertexd-test/python:3.11"
PYTHON_PACKAGES="python3,python3-pip,python3-fsspec"
SUITE="bookworm"

say() { echo "docker.sh: $*" >&2; }
dock() { docker -H "unix://$SOCKET" "$@"; }

install_tools() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
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

busybox_image() {
  dock image inspect "$BUSYBOX_IMAGE" >/dev/null 2>&1 && return
  local root
  root="$(mktemp -d)"
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
  tar -C "$root" -c . | dock import \
    -c 'ENTRYPOINT ["/bin/echo", "from-entrypoint"]' -c 'CMD ["from-cmd"]' \
    -c 'ENV PATH=/bin' - "$BUSYBOX_IMAGE" >/dev/null
  rm -rf "$root"
  say "imported $BUSYBOX_IMAGE"
}

apt_mirror() {
  # The Debian mirror apt already uses on this machine.
  local mirror
  mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  [ -n "$mirror" ] || mirror="$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
  [ -n "$mirror" ] || { say "found no Debian mirror in apt's sources"; exit 1; }
  echo "$mirror"
}

python_rootfs() {
  local tarball="$CACHE/python-$SUITE-${PYTHON_PACKAGES//,/-}.tar"
  if [ ! -s "$tarball" ]; then
    local root started=$SECONDS
    root="$(mktemp -d)"
    say "debootstrap $SUITE with $PYTHON_PACKAGES (about a minute, once per machine)"
    if ! debootstrap --variant=minbase --include="$PYTHON_PACKAGES" "$SUITE" "$root" \
      "$(apt_mirror)" >"$STATE/debootstrap.log" 2>&1; then
      tail -20 "$STATE/debootstrap.log" >&2
      exit 1
    fi
    rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* \
      "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    mkdir -p "$CACHE"
    tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
    say "made $tarball in $((SECONDS - started)) s"
  fi
  echo "$tarball"
}

python_image() {
  dock image inspect "$PYTHON_IMAGE" >/dev/null 2>&1 && return
  local tarball started=$SECONDS
  tarball="$(python_rootfs)"
  dock import -c 'CMD ["python3"]' -c 'ENV LANG=C.UTF-8' "$tarball" "$PYTHON_IMAGE" >/dev/null
  say "imported $PYTHON_IMAGE in $((SECONDS - started)) s"
}

start() {
  install_tools
  start_daemon
  busybox_image
  python_image
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
