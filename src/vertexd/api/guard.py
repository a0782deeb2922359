"""The guard: one ASGI middleware in front of every route of the app (routes added later
included). In order, for each HTTP request:

1. a `/_job/SECRET/...` prefix (a job's own credential, storage paths only) is checked and
   stripped; such a request is trusted as that job's (scope["vertexd.job"]). A secret not
   known yet is looked for again for up to a second: the engine tells of a job's secret
   before its replicas start, but this process takes the news in another thread;
2. `Host` must name this server (no DNS rebinding);
3. a CORS preflight is answered for the `--allow-origin` origins; an unsafe method from any
   other foreign `Origin` (else `Referer`) is refused;
4. with a token, `Authorization: Bearer TOKEN` is required except on the public paths;
5. API bodies must be JSON (`application/json`) and at most 16 MiB (storage keeps its own
   types; storage uploads have no cap).

Every refusal is an error in Vertex's shape and reaches no route, so it changes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from vertexd.api import guard_policy as policy
from vertexd.api.guard_policy import GuardConfig
from vertexd.core.codes import Code
from vertexd.core.job_credentials import SECRET_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AUTHENTICATED = "vertexd.authenticated"
CREDENTIAL_WAIT_SECONDS, CREDENTIAL_LOOK_SECONDS = 1.0, 0.01
JOB = "vertexd.job"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"


class Refusal(Exception):
    """A request the guard answers itself, with an error in Vertex's shape."""

    def __init__(
        self,
        code: Code,
        message: str,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.headers = code, message, headers or {}
        self.http_status = http_status or code.http_status


class UnknownCredential(Refusal):
    """A job secret this process does not know (yet, or any more)."""

    def __init__(self, secret: str) -> None:
        super().__init__(Code.UNAUTHENTICATED, "Unknown or expired job credential.")
        self.secret = secret


class Guard:
    def __init__(self, app: ASGIApp, config: GuardConfig) -> None:
        self.app, self.config = app, config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        origin = _request_origin(headers)
        cors = origin is not None and origin in self.config.origins
        try:
            try:
                self._check(scope, headers, origin)
            except UnknownCredential as unknown:
                await self._await_credential(unknown.secret)
                self._check(scope, headers, origin)
            if _is_preflight(scope, headers):
                await _send(send, 204, b"", _cors_headers(origin, headers) if cors else {})
                return
            if scope["type"] == "http" and scope["method"] not in policy.SAFE_METHODS:
                receive = await self._checked_body(scope, headers, receive)
        except Refusal as refusal:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _send_error(send, refusal, _cors_headers(origin, headers) if cors else {})
            return
        await self.app(scope, receive, _with_cors(send, origin) if cors else send)

    def _check(self, scope: Scope, headers: dict[str, str], origin: str | None) -> None:
        job = self._job_credential(scope, headers)
        if job is None and not self.config.host_allowed(headers.get("host", "")):
            raise Refusal(Code.PERMISSION_DENIED, "This server does not answer to that Host.")
        preflight = _is_preflight(scope, headers)
        if origin is not None and (scope.get("method") not in policy.SAFE_METHODS or preflight):
            self._check_origin(scope, headers, origin)
        if preflight:  # browsers send no credentials with a preflight
            return
        presented = policy.bearer(headers.get("authorization", ""))
        scope[AUTHENTICATED] = job is not None or self.config.token_matches(presented)
        if not scope[AUTHENTICATED] and not policy.is_public(scope["path"]):
            message = "Missing or invalid auth token: send `Authorization: Bearer TOKEN`."
            raise Refusal(Code.UNAUTHENTICATED, message, headers={"WWW-Authenticate": "Bearer"})

    async def _await_credential(self, secret: str) -> None:
        """Until the secret is known, for CREDENTIAL_WAIT_SECONDS at most (a sleep, so that a
        stream of bad secrets holds no thread)."""
        if len(secret) < SECRET_BYTES:  # not one this server issues
            return
        deadline = asyncio.get_running_loop().time() + CREDENTIAL_WAIT_SECONDS
        while self.config.credentials.job_for(secret) is None:
            if asyncio.get_running_loop().time() >= deadline:
                return
            await asyncio.sleep(CREDENTIAL_LOOK_SECONDS)

    def _check_origin(self, scope: Scope, headers: dict[str, str], origin: str) -> None:
        own = policy.origin_of(f"{scope.get('scheme', 'http')}://{headers.get('host', '')}")
        if origin != own and origin not in self.config.origins:
            message = f"Cross-origin requests from {origin} are refused (see --allow-origin)."
            raise Refusal(Code.PERMISSION_DENIED, message)

    def _job_credential(self, scope: Scope, headers: dict[str, str]) -> str | None:
        """The job whose credential the request carries, stripping a `/_job/SECRET` prefix."""
        path: str = scope["path"]
        if path.startswith(policy.JOB_PREFIX):
            secret, _, rest = path[len(policy.JOB_PREFIX) :].partition("/")
            if not policy.is_storage("/" + rest):
                raise Refusal(Code.UNAUTHENTICATED, "Unknown or expired job credential.")
            job = self.config.credentials.job_for(secret)
            if job is None:
                raise UnknownCredential(secret)
            _strip_prefix(scope, len(policy.JOB_PREFIX) + len(secret))
        elif policy.is_storage(path):
            job = self.config.credentials.job_for(policy.bearer(headers.get("authorization", "")))
        else:
            return None
        if job is not None:
            scope[JOB] = job
        return job

    async def _checked_body(
        self, scope: Scope, headers: dict[str, str], receive: Receive
    ) -> Receive:
        """The body of an API call, read whole (it is bounded), as a new `receive`."""
        path = scope["path"]
        if policy.is_upload(path):
            return receive
        limit = self.config.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise Refusal(Code.INVALID_ARGUMENT, _too_large(limit), 413)
        body = await _read_body(receive, limit)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if body and content_type != "application/json" and not policy.is_storage(path):
            message = "Request bodies must be sent with Content-Type: application/json."
            raise Refusal(Code.INVALID_ARGUMENT, message, 415)
        return _replay(body, receive)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _request_origin(headers: dict[str, str]) -> str | None:
    """The origin a browser says the request comes from (`Origin`, else `Referer`)."""
    if "origin" in headers:
        return policy.origin_of(headers["origin"]) or headers["origin"].strip().lower()
    if "referer" in headers:
        return policy.origin_of(headers["referer"]) or "null"
    return None


def _is_preflight(scope: Scope, headers: dict[str, str]) -> bool:
    return scope.get("method") == "OPTIONS" and "access-control-request-method" in headers


def _strip_prefix(scope: Scope, length: int) -> None:
    scope["path"] = scope["path"][length:]
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw.startswith(policy.JOB_PREFIX.encode()):
        rest = raw[len(policy.JOB_PREFIX) :]
        scope["raw_path"] = rest[rest.find(b"/") :] if b"/" in rest else b"/"


def _too_large(limit: int) -> str:
    return f"Request bodies are limited to {limit // (1024 * 1024)} MiB."


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refusal(Code.INVALID_ARGUMENT, _too_large(limit), 413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _send_error(send: Send, refusal: Refusal, extra: dict[str, str]) -> None:
    status = refusal.http_status
    error = {"code": status, "message": refusal.message, "status": refusal.code.name}
    body = json.dumps({"error": error}).encode()
    headers = {"content-type": "application/json", **refusal.headers, **extra}
    await _send(send, status, body, headers)


async def _send(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _cors_headers(origin: str | None, headers: dict[str, str]) -> dict[str, str]:
    answer = {"Access-Control-Allow-Origin": origin or "", "Vary": "Origin"}
    if "access-control-request-method" in headers:
        answer["Access-Control-Allow-Methods"] = CORS_METHODS
        wanted = headers.get("access-control-request-headers", "")
        answer["Access-Control-Allow-Headers"] = wanted or "authorization, content-type"
        answer["Access-Control-Max-Age"] = "600"
    return answer


def _with_cors(send: Send, origin: str | None) -> Send:
    async def cors_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            extra = [
                (b"access-control-allow-origin", (origin or "").encode()),
                (b"vary", b"Origin"),
            ]
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return cors_send
