"""Errors in the shape Vertex answers with: a google.rpc code, its HTTP status, a message, and
`details` (google.rpc.BadRequest and the like) where Vertex gives them."""

from __future__ import annotations

import re
from typing import Any

from vertexd.core.codes import Code

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
FOUND_ERRORS = "List of found errors:\t"


class ApiError(Exception):
    """An error a client sees as `{"error": {"code", "message", "status", "details"?}}`."""

    code = Code.INTERNAL

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    @property
    def status(self) -> str:
        return self.code.name

    @property
    def http_status(self) -> int:
        return self.code.http_status

    def to_body(self) -> dict[str, object]:
        error: dict[str, object] = {
            "code": self.http_status,
            "message": self.message,
            "status": self.status,
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


class InvalidArgument(ApiError):
    code = Code.INVALID_ARGUMENT

    def __init__(
        self, message: str, field: str | None = None, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(f"{field}: {message}" if field else message, details)
        self.field = field

    def rerooted(self, old: str, new: str) -> InvalidArgument:
        """The same error with the field path starting at `new` instead of `old` (a spec
        checked inside another resource: `job_spec` -> `training_task_inputs`)."""
        message = re.sub(rf"(?<![\w.]){re.escape(old)}(?=[.:;\[ ]|$)", new, self.message, count=1)
        return InvalidArgument(message, details=self.details)

    def under(self, prefix: str) -> InvalidArgument:
        """The same error with every field path inside `prefix`."""
        head = FOUND_ERRORS + "1.Field: "
        if self.message.startswith(head):
            message = f"{head}{prefix}.{self.message.removeprefix(head)}"
        else:
            message = f"{prefix}.{self.message}"
        return InvalidArgument(message, details=self.details)


class FoundErrors(InvalidArgument):
    """Vertex's form for a rule a field breaks: `List of found errors:\\t1.Field: <path>;
    Message: <words>\\t`. vertexd's hint, if any, follows Vertex's words."""

    def __init__(self, field: str, message: str, hint: str = "") -> None:
        words = f"{message} {hint}" if hint else message
        super().__init__(f"{FOUND_ERRORS}1.Field: {field}; Message: {words}\t")
        self.field = field


def bad_request(violations: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """A google.rpc.BadRequest detail: one field violation per (field, description)."""
    entries = [{"field": field, "description": text} for field, text in violations]
    return [{"@type": BAD_REQUEST, "fieldViolations": entries}]


class NotFound(ApiError):
    code = Code.NOT_FOUND


class FailedPrecondition(ApiError):
    code = Code.FAILED_PRECONDITION


class PermissionDenied(ApiError):
    code = Code.PERMISSION_DENIED


class AlreadyExists(ApiError):
    code = Code.ALREADY_EXISTS


class Unavailable(ApiError):
    code = Code.UNAVAILABLE
