"""gRPC test servers that this test process trusts.

grpc reads GRPC_DEFAULT_SSL_ROOTS_FILE_PATH once, when it makes its first secure channel, so
the variable is set when this module is imported (pytest imports every test module before it
runs any test) and names one CA for the whole process: each server made here gets a copy of
it in `<home>/tls/`, which vertexd keeps and serves from (a server never told of it makes its
own: tests/test_grpc.py runs a client in a process of its own against that one)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from conftest import Server
from vertexd.api.grpc.tls import private_tls

SHARED_TLS = Path(tempfile.mkdtemp(prefix="vertexd-grpc-tests-")) / "tls"
private_tls(SHARED_TLS)
os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(SHARED_TLS / "ca.pem")


def grpc_server(home: Path, *extra: str) -> Server:
    """A started server with gRPC on a free port, its TLS made by the shared CA."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SHARED_TLS, home / "tls", dirs_exist_ok=True)
    server = Server(home, *extra, grpc=True)
    server.start()
    return server
