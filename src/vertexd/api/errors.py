"""Every error leaves in Vertex's shape: {"error": {"code", "message", "status"}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from vertexd.core.errors import ApiError

log = logging.getLogger(__name__)

_HTTP_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ALREADY_EXISTS",
    501: "UNIMPLEMENTED",
}


def error_response(http_status: int, status: str, message: str) -> JSONResponse:
    body = {"error": {"code": http_status, "message": message, "status": status}}
    return JSONResponse(body, status_code=http_status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.to_body(), status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else "Invalid request."
        return error_response(400, "INVALID_ARGUMENT", message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        status = _HTTP_STATUS_NAMES.get(exc.status_code, "UNKNOWN")
        if exc.status_code == 404:
            message = f"The requested URL {request.url.path} was not found on this server."
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, status, message)

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(500, "INTERNAL", f"Internal error: {type(exc).__name__}.")
