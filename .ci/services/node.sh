#!/usr/bin/env bash
# Google's Node.js client for the tests in tests/node (nothing to start, only to install).
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
  start)
    command -v npm >/dev/null || { apt-get update -qq >&2 && apt-get install -y -qq nodejs npm >&2; }
    npm install --prefix tests/node --no-audit --no-fund --loglevel=error >&2
    ;;
  stop) ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
