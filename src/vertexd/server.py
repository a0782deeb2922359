"""`vertexd serve`: the API and the scheduler in one foreground process."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys

import uvicorn

from vertexd.api.app import create_app
from vertexd.settings import Settings


def run_server(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(settings)
    record = settings.home / "server.json"
    endpoint = f"http://{settings.host}:{settings.port}"
    record.write_text(json.dumps({"endpoint": endpoint, "pid": os.getpid()}))
    # uvicorn re-raises the signal that stopped it once it has shut down; exiting through
    # SystemExit lets the record below be removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    finally:
        if record.exists() and json.loads(record.read_text()).get("pid") == os.getpid():
            record.unlink()
