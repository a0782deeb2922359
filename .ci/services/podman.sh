#!/usr/bin/env bash
# A private Podman service (its Docker-compatible API) for the container tests, with the same
# test images as docker.sh, built from nothing.
#
#   eval "$(bash .ci/services/podman.sh start)"   # prints export VERTEXD_TEST_PODMAN_HOST=...
#   python -m pytest tests/test_containers*.py     # runs them on Docker and on Podman
#   bash .ci/services/podman.sh stop
#
# `start` installs podman, catatonit (the init of `--init`), runc, busybox-static and
# debootstrap with apt-get when they are missing, and starts
# `podman system service --time=0 unix://$STATE/podman.sock` by hand, where STATE is
# $VERTEXD_CI_STATE/podman (default /tmp/vertexd-podman-state/podman). Its storage, run root,
# networks and events, and its three config files, are all in STATE, passed through
# CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and CONTAINERS_REGISTRIES_CONF (nothing is written
# to /etc). Podman runs here only with runtime runc, the cgroupfs cgroup manager and explicit
# ulimits (containers.conf below). registries.conf lets it pull from the test registry
# $VERTEXD_TEST_REGISTRY (default 127.0.0.1:5055) over plain HTTP. The test images come from
# lib/images.sh, imported when Podman's storage lacks them. `stop` stops the service by its pid.
# Only `export` lines go to stdout; progress goes to stderr.
set -euo pipefail

STATE="$(realpath -m "${VERTEXD_CI_STATE:-/tmp/vertexd-podman-state}/podman")"
SOCKET="$STATE/podman.sock"
PIDFILE="$STATE/podman.pid"
REGISTRY="${VERTEXD_TEST_REGISTRY:-127.0.0.1:5055}"
# shellcheck source=lib/images.sh
source "$(dirname "$0")/lib/images.sh" # the test images: BUSYBOX_IMAGE, PYTHON_IMAGE, test_images

export CONTAINERS_CONF="$STATE/containers.conf"
export CONTAINERS_STORAGE_CONF="$STATE/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$STATE/registries.conf"

say() { echo "podman.sh: $*" >&2; }
# The podman CLI on the service's storage (the same config files), for the image imports.
image_cli() { podman "$@"; }
answers() { curl -sf --unix-socket "$SOCKET" http://podman/_ping >/dev/null 2>&1; }

install_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v catatonit >/dev/null || [ -x /usr/libexec/podman/catatonit ] || missing+=(catatonit)
  command -v runc >/dev/null || missing+=(runc)
  command -v curl >/dev/null || missing+=(curl)
  mapfile -t -O ${#missing[@]} missing < <(image_tools_missing)
  [ ${#missing[@]} -eq 0 ] && return
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

write_config() {
  local driver="$1" init
  init="$(command -v catatonit || echo /usr/libexec/podman/catatonit)"
  mkdir -p "$STATE/networks" "$STATE/tmp"
  cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
init_path = "$init"
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$STATE/events.log"
tmp_dir = "$STATE/tmp"

[network]
network_backend = "cni"
network_config_dir = "$STATE/networks"
CONF
  cat >"$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "$driver"
graphroot = "$STATE/storage"
runroot = "$STATE/run"
CONF
  cat >"$CONTAINERS_REGISTRIES_CONF" <<CONF
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"

[[registry]]
location = "$REGISTRY"
insecure = true
CONF
}

start_service() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && answers; then
    say "podman service already runs (pid $(cat "$PIDFILE"))"
    return
  fi
  mkdir -p "$STATE"
  local driver
  for driver in overlay vfs; do
    if [ -f "$CONTAINERS_STORAGE_CONF" ] && ! grep -q "driver = \"$driver\"" "$CONTAINERS_STORAGE_CONF"; then
      continue # storage made with another driver earlier: keep that one
    fi
    write_config "$driver"
    say "starting podman system service (storage driver $driver) at $SOCKET"
    rm -f "$SOCKET"
    # In STATE: conmon writes a container's `oom` mark into the service's working directory.
    (cd "$STATE" && exec setsid podman system service --time=0 "unix://$SOCKET") \
      </dev/null >"$STATE/podman.log" 2>&1 &
    local pid=$! waited=0
    echo "$pid" >"$PIDFILE"
    while [ $waited -lt 300 ]; do
      if answers; then return; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1; waited=$((waited + 1))
    done
    kill "$pid" 2>/dev/null || true
    rm -f "$PIDFILE" "$CONTAINERS_STORAGE_CONF"
    say "podman did not start with $driver:"; tail -5 "$STATE/podman.log" >&2
  done
  exit 1
}

start() {
  install_tools
  start_service
  test_images
  echo "export VERTEXD_TEST_PODMAN_HOST=unix://$SOCKET"
  echo "export VERTEXD_TEST_IMAGES=busybox=$BUSYBOX_IMAGE,python=$PYTHON_IMAGE"
}

stop() {
  [ -f "$PIDFILE" ] || { say "no podman service of ours runs"; return 0; }
  local pid waited=0 clean=yes
  pid="$(cat "$PIDFILE")"
  # Containers the tests left running belong to this storage only: stop them with it.
  [ -f "$CONTAINERS_CONF" ] && podman rm --all --force --time 0 >/dev/null 2>&1 || true
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 200 ]; do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; clean=no; fi
  rm -f "$PIDFILE" "$SOCKET"
  # Overlay layers of the storage stay mounted until unmounted.
  [ -f "$CONTAINERS_CONF" ] && podman system prune --force >/dev/null 2>&1 || true
  { grep -o " $STATE/[^ ]*" /proc/mounts || true; } | sort -r | while read -r mounted; do
    umount "$mounted" 2>/dev/null || true
  done
  say "stopped the podman service (pid $pid)"
  # A CI run's state is its own temporary folder; a developer's default one keeps the images.
  if [ -n "${VERTEXD_CI_STATE:-}" ] && [ $clean = yes ]; then rm -rf "$STATE" 2>/dev/null || true; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
