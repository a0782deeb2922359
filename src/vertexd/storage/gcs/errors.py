"""Errors in the Cloud Storage JSON API's shape: an HTTP status, a reason, a message."""

from __future__ import annotations


class GcsError(Exception):
    """Leaves as `{"error": {"code", "message", "errors": [{"reason", ...}]}}`."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def to_body(self) -> dict[str, object]:
        detail = {"domain": "global", "reason": self.reason, "message": self.message}
        return {"error": {"code": self.code, "message": self.message, "errors": [detail]}}


def bad_request(message: str) -> GcsError:
    return GcsError(400, "invalid", message)


def not_found(message: str) -> GcsError:
    return GcsError(404, "notFound", message)


def conflict(message: str) -> GcsError:
    return GcsError(409, "conflict", message)


def precondition_failed(message: str) -> GcsError:
    return GcsError(412, "conditionNotMet", message)


def range_not_satisfiable(message: str) -> GcsError:
    return GcsError(416, "requestedRangeNotSatisfiable", message)
