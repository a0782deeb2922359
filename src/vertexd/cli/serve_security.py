"""`vertexd serve`'s security flags: a token, TLS, the hosts and origins it answers to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vertexd.cli.common import CliError, status

SECURITY = "Security"
AllowedHost = Annotated[
    list[str] | None,
    typer.Option(
        "--allowed-host",
        help="A host name clients use for this server (repeatable; '*': any, e.g. behind a "
        "proxy that checks it). Loopback names and the bound address are always allowed.",
        rich_help_panel=SECURITY,
    ),
]
AllowOrigin = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-origin",
        help="A web origin (https://host:port) whose pages may call the API (repeatable).",
        rich_help_panel=SECURITY,
    ),
]
AuthTokenFile = Annotated[
    Path | None,
    typer.Option(
        help="Require `Authorization: Bearer TOKEN` on API calls, TOKEN being this file's "
        "content (default: $VERTEXD_AUTH_TOKEN_FILE).",
        rich_help_panel=SECURITY,
    ),
]
GenerateToken = Annotated[
    bool,
    typer.Option(
        "--generate-token",
        help="Write a new random token to <home>/auth-token (mode 0600) and require it.",
        rich_help_panel=SECURITY,
    ),
]
InsecureNoAuth = Annotated[
    bool,
    typer.Option(
        "--insecure-no-auth",
        help="Listen on a non-loopback address without a token (anyone who reaches it can "
        "run code as you).",
        rich_help_panel=SECURITY,
    ),
]
TlsCert = Annotated[
    Path | None,
    typer.Option(help="Serve HTTPS with this PEM certificate.", rich_help_panel=SECURITY),
]
TlsKey = Annotated[
    Path | None, typer.Option(help="The certificate's PEM private key.", rich_help_panel=SECURITY)
]


def security_settings(
    allowed_host: list[str] | None,
    allow_origin: list[str] | None,
    auth_token_file: Path | None,
    insecure_no_auth: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> dict[str, Any]:
    """The Settings fields the flags give (None: not given)."""
    return {
        "allowed_hosts": allowed_host or None,
        "allow_origins": allow_origin or None,
        "auth_token_file": auth_token_file.expanduser().absolute() if auth_token_file else None,
        "insecure_no_auth": insecure_no_auth or None,
        "tls_cert": tls_cert.expanduser().absolute() if tls_cert else None,
        "tls_key": tls_key.expanduser().absolute() if tls_key else None,
    }


def generate_token(token_path: Path, auth_token_file: Path | None) -> Path:
    """`--generate-token`: a new token at `token_path`, which the server then requires."""
    if auth_token_file is not None:
        raise CliError("Give --generate-token or --auth-token-file, not both.")
    from vertexd.server import write_token

    write_token(token_path)
    status(
        f"Wrote a new auth token to {token_path} (mode 0600). Clients send it as "
        "`Authorization: Bearer TOKEN`; the CLI reads it from there, or from $VERTEXD_TOKEN."
    )
    return token_path
