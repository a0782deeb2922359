"""A small HTTP/1.1 JSON client on the standard library's http.client, with keep-alive.

The load benchmarks run 50 and more clients on the same cores as the server they measure;
httpx spends several times the CPU per call of this (its models, hooks and URL handling), and
that CPU is taken from the server under test. Only what the benchmarks call is here."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

# What a keep-alive connection the server closed while idle looks like at the next request.
_CLOSED_WHILE_IDLE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class HttpError(Exception):
    """A call that failed: no answer, or an answer with an error status."""


class Answer:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code, self.body = status, body

    def raise_for_status(self) -> Answer:
        if self.status_code >= 400:
            raise HttpError(f"HTTP {self.status_code}: {self.body[:200]!r}")
        return self

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    def __init__(self, base_url: str, timeout: float = 120) -> None:
        parts = urlsplit(base_url)
        self._host, self._port, self._timeout = parts.hostname or "", parts.port, timeout
        self._connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def request(
        self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None
    ) -> Answer:
        target = path + (f"?{urlencode(params)}" if params else "")
        body = None if json is None else _dumps(json)
        headers = {} if body is None else {"Content-Type": "application/json"}
        for attempt in (1, 2):
            try:
                self._connection.request(method, target, body, headers)
                answer = self._connection.getresponse()
                return Answer(answer.status, answer.read())
            except _CLOSED_WHILE_IDLE as exc:
                self._connection.close()
                self._connection = self._connect()
                if attempt == 2:
                    raise HttpError(f"{method} {target}: {exc!r}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._connection.close()
                self._connection = self._connect()
                raise HttpError(f"{method} {target}: {exc!r}") from exc
        raise AssertionError("unreachable")

    def get(self, path: str, params: dict[str, Any] | None = None) -> Answer:
        return self.request("GET", path, params=params)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()
