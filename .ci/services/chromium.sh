#!/usr/bin/env bash
# Debian's chromium for the console's browser tests (Playwright drives it; its own browser
# download does not work here). Nothing to start: `start` installs it, `stop` does nothing.
set -euo pipefail
case "${1:-}" in
  start)
    if [ ! -x /usr/bin/chromium ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq chromium >&2
    fi
    ;;
  stop) ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
