"""`vertexd serve`: the API and the scheduler in one foreground process."""

from __future__ import annotations

import gc
import json
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

from vertexd.api.guard_policy import StartupRefused
from vertexd.engine.link import Spawned
from vertexd.settings import Settings

# How long an idle client connection stays open. uvicorn's 5 s is close to the idle timeouts
# of clients' pools (Node's fetch: 4 s; Python's requests: none), so a request sent on a
# pooled connection could meet the server closing it; Google's front ends keep them longer.
KEEP_ALIVE_SECONDS = 75


def run_server(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    tls = tls_options(settings)
    engine = Spawned.start()  # it loads the engine's code while this process loads the app's
    import uvicorn

    from vertexd.api.app import create_app

    app = create_app(settings, serve_grpc=True, spawned=engine)
    # What start-up made (most of the heap: the API's and gRPC's types) is never scanned by
    # a collection again; a full one took 160 ms, an API call's p99 when it struck.
    gc.freeze()
    record = settings.home / "server.json"
    endpoint = f"{'https' if tls else 'http'}://{settings.host}:{settings.port}"
    record.write_text(json.dumps({"endpoint": endpoint, "pid": os.getpid()}))
    # uvicorn re-raises the signal that stopped it once it has shut down; exiting through
    # SystemExit lets the record below be removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            **tls,
        )
    finally:
        if record.exists() and json.loads(record.read_text()).get("pid") == os.getpid():
            record.unlink()


def tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's HTTPS options: both a certificate and its key, or neither."""
    if settings.tls_cert is None and settings.tls_key is None:
        return {}
    if settings.tls_cert is None or settings.tls_key is None:
        raise StartupRefused("HTTPS needs both --tls-cert FILE and --tls-key FILE.")
    for path in (settings.tls_cert, settings.tls_key):
        if not path.is_file():
            raise StartupRefused(f"No such file: {path}.")
    return {"ssl_certfile": str(settings.tls_cert), "ssl_keyfile": str(settings.tls_key)}


def write_token(path: Path) -> None:
    """A new random token in `path`, readable by this user only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(32) + "\n")
