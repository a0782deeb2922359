"""While the engine process is down, requests that would change a job are refused with
UNAVAILABLE before anything is stored; reads go on (every record is kept)."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from vertexd.core.errors import Unavailable
from vertexd.engine.link import EngineLink

READS = frozenset({"GET", "HEAD", "OPTIONS"})


class EngineGate:
    def __init__(self, app: ASGIApp, engine: EngineLink) -> None:
        self.app, self.engine = app, engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = self.engine.problem
        if (
            problem is not None
            and scope["type"] == "http"
            and scope["method"] not in READS
            and scope["path"].startswith("/v1/")
        ):
            error = Unavailable(problem)
            await JSONResponse(error.to_body(), error.http_status)(scope, receive, send)
            return
        await self.app(scope, receive, send)
