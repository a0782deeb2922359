# The two test images, built from nothing (no registry is reachable, nothing is pulled).
# Sourced by the engine services (docker.sh, podman.sh); not a service itself.
#
#   vertexd-test/busybox:1    static busybox; ENTRYPOINT echo from-entrypoint, CMD from-cmd
#   vertexd-test/python:3.11  Debian bookworm minbase with python3, pip and fsspec
#
# The sourcing script defines `say MESSAGE` (progress on stderr) and `image_cli ARGS...` (its
# engine's CLI: `docker -H ...` or `podman ...`, which both take `image inspect` and
# `import -c CHANGE`), and sets STATE (its private folder; debootstrap logs there). The Python
# root file system takes about a minute of debootstrap the first time; it is kept as a tarball
# in $VERTEXD_IMAGE_CACHE (default /var/cache/vertexd-ci) and shared by every engine.
# shellcheck shell=bash

CACHE="${VERTEXD_IMAGE_CACHE:-/var/cache/vertexd-ci}"
BUSYBOX_IMAGE="vertexd-test/busybox:1"
PYTHON_IMAGE="vertexd-test/python:3.11"
PYTHON_PACKAGES="python3,python3-pip,python3-fsspec"
SUITE="bookworm"

# The Debian packages the images are made from, those not installed yet (one a line).
image_tools_missing() {
  dpkg -s busybox-static >/dev/null 2>&1 || echo busybox-static
  command -v debootstrap >/dev/null || echo debootstrap
}

busybox_image() {
  image_cli image inspect "$BUSYBOX_IMAGE" >/dev/null 2>&1 && return
  local root
  root="$(mktemp -d)"
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
  tar -C "$root" -c . | image_cli import \
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
  image_cli image inspect "$PYTHON_IMAGE" >/dev/null 2>&1 && return
  local tarball started=$SECONDS
  tarball="$(python_rootfs)"
  image_cli import -c 'CMD ["python3"]' -c 'ENV LANG=C.UTF-8' "$tarball" "$PYTHON_IMAGE" >/dev/null
  say "imported $PYTHON_IMAGE in $((SECONDS - started)) s"
}

# Both images, each imported only when the engine lacks it.
test_images() {
  busybox_image
  python_image
}
