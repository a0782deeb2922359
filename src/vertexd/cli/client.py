"""The HTTP client of the CLI: find the server (or start one in the background) and call it."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from vertexd.cli.common import ApiCallError, CliError, status

DEFAULT_PORT = 8080
START_TIMEOUT_SECONDS = 20.0
HEALTH_TIMEOUT_SECONDS = 2.0
REQUEST_TIMEOUT_SECONDS = 60.0


TOKEN_FILE_NAME = "auth-token"


class ApiClient:
    """JSON calls to a vertexd server; every failure becomes a CliError."""

    def __init__(
        self, endpoint: str, server_home: Path | None = None, token: str | None = None
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        # Where the server keeps its local buckets (packages are staged there).
        self.server_home = server_home
        self._http = _http_client(self.endpoint, REQUEST_TIMEOUT_SECONDS, token)

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("POST", path, body=body if body is not None else {})

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            response = self._http.request(method, path, params=clean, json=body)
        except httpx.TransportError as error:
            raise CliError(f"Lost the vertexd server at {self.endpoint}: {error}") from None
        return _answer(response)


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.is_success and isinstance(payload, dict):
        return payload
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        raise ApiCallError(str(error.get("status") or "UNKNOWN"), str(error.get("message", "")))
    text = response.text.strip()[:500] or response.reason_phrase
    raise CliError(f"HTTP {response.status_code} from {response.request.url}: {text}")


def _is_loopback(endpoint: str) -> bool:
    return (urlsplit(endpoint).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def resolve_token(home: Path) -> str | None:
    """$VERTEXD_TOKEN, else the file `--token-file` ($VERTEXD_TOKEN_FILE) names, else the
    token `vertexd serve --generate-token` wrote in the home; None when there is none."""
    if os.environ.get("VERTEXD_TOKEN"):
        return os.environ["VERTEXD_TOKEN"].strip()
    named = os.environ.get("VERTEXD_TOKEN_FILE")
    path = Path(named).expanduser() if named else home / TOKEN_FILE_NAME
    try:
        return path.read_text().strip() or None
    except OSError:
        if named:
            raise CliError(f"Cannot read the token file {path}.") from None
        return None


def _http_client(endpoint: str, timeout: float, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # An HTTPS server with a private CA: SSL_CERT_FILE names the CA's certificate.
    ca_file = os.environ.get("SSL_CERT_FILE")
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
    # A proxy from the environment must not intercept calls to a server on this machine.
    return httpx.Client(
        base_url=endpoint,
        timeout=timeout,
        headers=headers,
        verify=verify,
        trust_env=not _is_loopback(endpoint),
    )


def health(endpoint: str, token: str | None = None) -> dict[str, Any] | None:
    """The server's `/healthz` answer, or None when nothing healthy answers there."""
    try:
        with _http_client(endpoint, HEALTH_TIMEOUT_SECONDS, token) as http:
            response = http.get("/healthz")
            payload = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    if response.status_code == 200 and isinstance(payload, dict) and payload.get("status") == "ok":
        return payload
    return None


def _client_for(endpoint: str, answer: dict[str, Any], fallback_home: Path) -> ApiClient:
    home = answer.get("home")
    token = resolve_token(fallback_home)
    return ApiClient(endpoint, Path(home) if isinstance(home, str) else fallback_home, token)


def connect(endpoint_flag: str | None, home: Path) -> ApiClient:
    """`--endpoint` > VERTEXD_ENDPOINT > <home>/server.json > a server started here and now."""
    explicit = endpoint_flag or os.environ.get("VERTEXD_ENDPOINT")
    if explicit:
        answer = health(explicit, resolve_token(home))
        if answer is None:
            raise CliError(
                f"No vertexd server answers at {explicit} "
                f"(checked {explicit.rstrip('/')}/healthz). "
                "Start one with `vertexd serve`, or leave out --endpoint/VERTEXD_ENDPOINT to "
                "let the CLI start one."
            )
        return _client_for(explicit, answer, home)
    home.mkdir(parents=True, exist_ok=True)
    with _exclusive(home / "server.lock"):
        recorded = _recorded_server(home)
        if recorded is not None:
            return _client_for(recorded[0], recorded[1], home)
        endpoint, answer = _start_server(home)
    return _client_for(endpoint, answer, home)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """One CLI at a time decides whether to start a server for a home."""
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _recorded_server(home: Path) -> tuple[str, dict[str, Any]] | None:
    """The server in <home>/server.json if it answers (waiting while a live one starts up)."""
    try:
        record = json.loads((home / "server.json").read_text())
        endpoint, pid = str(record["endpoint"]), int(record.get("pid", 0))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        answer = health(endpoint, resolve_token(home))
        if answer is not None:
            return endpoint, answer
        if not _is_vertexd_server(pid) or time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def _is_vertexd_server(pid: int) -> bool:
    import psutil

    try:
        command = psutil.Process(pid).cmdline() if pid > 0 else []
    except (psutil.Error, OSError):
        return False
    return "serve" in command and any("vertexd" in part for part in command)


def _free_port() -> int:
    """8080 when nothing listens there, else any free port."""
    for port in (DEFAULT_PORT, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise CliError("Found no free TCP port for a vertexd server.")


def _start_server(home: Path) -> tuple[str, dict[str, Any]]:
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log_path = home / "server.log"
    command = [sys.executable, "-m", "vertexd", "serve"]
    command += ["--home", str(home), "--host", "127.0.0.1", "--port", str(port)]
    if (home / TOKEN_FILE_NAME).is_file():  # a token was made for this home: require it
        command += ["--auth-token-file", str(home / TOKEN_FILE_NAME)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        answer = health(endpoint, resolve_token(home))
        if answer is not None:
            status(
                f"Started a vertexd server in the background at {endpoint} "
                f"(home: {home}, log: {log_path})."
            )
            return endpoint, answer
        if process.poll() is not None:
            break
        time.sleep(0.1)
    if process.poll() is None:
        process.terminate()
    raise CliError(
        f"Could not start a vertexd server at {endpoint} within {START_TIMEOUT_SECONDS:.0f} s. "
        f"Its log ({log_path}) ends with:\n{_tail(log_path)}"
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
