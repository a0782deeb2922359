"""What the benchmarks share: a free port, and a `vertexd serve` started on one, answering."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(home: Path, *extra: str) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    """`vertexd serve --home HOME` on a free port (its log in HOME/server.log), once it
    answers /healthz; gRPC is off unless `extra` asks for it."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [sys.executable, "-m", "vertexd", "serve", "--home", str(home), "--port", str(port)]
    if "--grpc-port" not in extra:
        command += ["--grpc-port", "0"]
    log = (home / "server.log").open("wb")
    server = subprocess.Popen([*command, *extra], stdout=log, stderr=log)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    for _ in range(1200):
        try:
            if client.get("/healthz").status_code == 200:
                return server, client
        except httpx.TransportError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError(f"the server did not start: {(home / 'server.log').read_text()}")
