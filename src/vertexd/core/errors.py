"""Errors in the shape Vertex answers with: a google.rpc code, its HTTP status, a message."""

from __future__ import annotations

from vertexd.core.codes import Code


class ApiError(Exception):
    """An error a client sees as `{"error": {"code", "message", "status"}}`."""

    code = Code.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def status(self) -> str:
        return self.code.name

    @property
    def http_status(self) -> int:
        return self.code.http_status

    def to_body(self) -> dict[str, object]:
        return {"error": {"code": self.http_status, "message": self.message, "status": self.status}}


class InvalidArgument(ApiError):
    code = Code.INVALID_ARGUMENT

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class NotFound(ApiError):
    code = Code.NOT_FOUND


class FailedPrecondition(ApiError):
    code = Code.FAILED_PRECONDITION


class PermissionDenied(ApiError):
    code = Code.PERMISSION_DENIED


class AlreadyExists(ApiError):
    code = Code.ALREADY_EXISTS
