"""`vertexd serve`'s gRPC flags (the official clients' default transport)."""

from __future__ import annotations

from typing import Annotated

import typer

GRPC = "gRPC"
GrpcPort = Annotated[
    int | None,
    typer.Option(
        help="Port for gRPC, the official clients' default transport (default: 8443; 0: off). "
        "TLS with --tls-cert, else a private CA made in <home>/tls/ (clients set "
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=<home>/tls/ca.pem).",
        rich_help_panel=GRPC,
    ),
]
GrpcInsecure = Annotated[
    bool,
    typer.Option(
        "--grpc-insecure",
        help="Serve gRPC in plaintext (for grpc.insecure_channel clients).",
        rich_help_panel=GRPC,
    ),
]
