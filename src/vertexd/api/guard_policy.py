"""What the guard (api/guard.py) lets through: the host names this server answers to, the
origins that may write cross-site, the token, the per-job credentials, the paths that are
open or keep their own body types. Pure data and pure functions; the middleware applies them."""

from __future__ import annotations

import hmac
import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from vertexd.core.job_credentials import PATH_PREFIX, JobCredentials
from vertexd.settings import Settings

MAX_BODY_BYTES = 16 * 1024 * 1024
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The console's shell and the service's description: nothing in them is private.
PUBLIC_PATHS = frozenset({"/", "/favicon.ico", "/healthz", "/openapi.json", "/docs", "/redoc"})
PUBLIC_PREFIXES = ("/console/static/", "/docs/")
# The Cloud Storage JSON API: its requests keep their own body types; uploads have no size cap.
STORAGE_PREFIXES = ("/storage/v1/", "/upload/storage/v1/", "/download/storage/v1/", "/batch/")
UPLOAD_PREFIXES = ("/upload/storage/v1/",)
JOB_PREFIX = PATH_PREFIX


class StartupRefused(Exception):
    """The server must not start as configured; the message says how to fix it."""


@dataclass(frozen=True)
class GuardConfig:
    hosts: frozenset[str]
    any_host: bool = False
    origins: frozenset[str] = frozenset()
    token: str | None = None
    credentials: JobCredentials = field(default_factory=JobCredentials)
    max_body_bytes: int = MAX_BODY_BYTES

    def host_allowed(self, host_header: str) -> bool:
        return self.any_host or host_name(host_header) in self.hosts

    def token_matches(self, presented: str) -> bool:
        if self.token is None:
            return True
        return hmac.compare_digest(presented.encode(), self.token.encode())


def host_name(host_header: str) -> str:
    """`Example.com:8080` -> `example.com`; `[::1]:80` -> `::1`."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL (default ports left out), None when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def bearer(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def is_storage(path: str) -> bool:
    return path.startswith(STORAGE_PREFIXES)


def is_upload(path: str) -> bool:
    return path.startswith(UPLOAD_PREFIXES)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bound_names(host: str) -> set[str]:
    """The names a client may use for the bound address; for 0.0.0.0 or ::, every address
    of this machine and its host names."""
    if host.strip("[]") not in WILDCARD_BINDS:
        return {host.strip("[]").lower()}
    import psutil

    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    for addresses in psutil.net_if_addrs().values():
        names.update(a.address.split("%")[0].lower() for a in addresses if a.family in _IP)
    return names


_IP = (socket.AF_INET, socket.AF_INET6)


def read_token(path: Path) -> str:
    try:
        token = path.read_text().strip()
    except OSError as error:
        raise StartupRefused(f"Cannot read the auth token file {path}: {error}.") from None
    if not token:
        raise StartupRefused(f"The auth token file {path} is empty.")
    return token


def guard_config(settings: Settings, credentials: JobCredentials | None = None) -> GuardConfig:
    """The guard's rules for a server with these settings; refuses an exposed server with no
    token (unless `insecure_no_auth`)."""
    token = read_token(settings.auth_token_file) if settings.auth_token_file else None
    if token is None and not settings.insecure_no_auth and not is_loopback(settings.host):
        raise StartupRefused(no_token_message(settings.host))
    allowed = {h.lower() for h in settings.allowed_hosts}
    return GuardConfig(
        hosts=frozenset(LOOPBACK_NAMES | bound_names(settings.host) | (allowed - {"*"})),
        any_host="*" in allowed,
        origins=frozenset(filter(None, (origin_of(o) for o in settings.allow_origins))),
        token=token,
        credentials=credentials or JobCredentials(),
    )


def no_token_message(host: str) -> str:
    return (
        f"Refusing to listen on {host} without authentication: whoever reaches the API can run "
        "code as this user. Add a token with `vertexd serve --generate-token` (writes "
        "<home>/auth-token) or `--auth-token-file FILE` (or VERTEXD_AUTH_TOKEN_FILE), and "
        "consider --tls-cert/--tls-key; or pass --insecure-no-auth if the network is trusted."
    )
