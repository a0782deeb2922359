"""Errors in the shape Vertex answers with: a gRPC status code, an HTTP status, a message."""

from __future__ import annotations

from http import HTTPStatus

# google.rpc.Code values used on the wire.
GRPC_CODES: dict[str, tuple[int, int]] = {
    "CANCELLED": (1, 499),
    "INVALID_ARGUMENT": (3, HTTPStatus.BAD_REQUEST),
    "DEADLINE_EXCEEDED": (4, HTTPStatus.GATEWAY_TIMEOUT),
    "NOT_FOUND": (5, HTTPStatus.NOT_FOUND),
    "ALREADY_EXISTS": (6, HTTPStatus.CONFLICT),
    "RESOURCE_EXHAUSTED": (8, HTTPStatus.TOO_MANY_REQUESTS),
    "FAILED_PRECONDITION": (9, HTTPStatus.BAD_REQUEST),
    "UNIMPLEMENTED": (12, HTTPStatus.NOT_IMPLEMENTED),
    "INTERNAL": (13, HTTPStatus.INTERNAL_SERVER_ERROR),
    "UNAVAILABLE": (14, HTTPStatus.SERVICE_UNAVAILABLE),
}


class ApiError(Exception):
    """An error a client sees as `{"error": {"code", "message", "status"}}`."""

    status = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def grpc_code(self) -> int:
        return GRPC_CODES[self.status][0]

    @property
    def http_status(self) -> int:
        return int(GRPC_CODES[self.status][1])

    def to_body(self) -> dict[str, object]:
        return {"error": {"code": self.http_status, "message": self.message, "status": self.status}}


class InvalidArgument(ApiError):
    status = "INVALID_ARGUMENT"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class NotFound(ApiError):
    status = "NOT_FOUND"


class FailedPrecondition(ApiError):
    status = "FAILED_PRECONDITION"


class Unimplemented(ApiError):
    status = "UNIMPLEMENTED"


class AlreadyExists(ApiError):
    status = "ALREADY_EXISTS"
