"""Between the official protobuf messages and the JSON dicts the service layer speaks.

A request message becomes the dict a REST client would have sent (lowerCamelCase, enums as
names, int64 as strings); an answer dict becomes the response message, fields vertexd keeps
that the message lacks left out. Errors become gRPC status codes with REST's messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2  # noqa: F401 - the details' types

from vertexd.core.codes import Code
from vertexd.core.errors import ApiError

STATUS_DETAILS = "grpc-status-details-bin"
_STATUS_CODES = {status.value[0]: status for status in grpc.StatusCode}


def to_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def to_message(body: dict[str, Any], kind: type[Message]) -> Message:
    return json_format.ParseDict(body, kind(), ignore_unknown_fields=True)


@dataclass(frozen=True)
class Failure:
    """What a client sees of an error: a status code, REST's message, rich details."""

    code: grpc.StatusCode
    message: str
    trailers: tuple[tuple[str, bytes], ...] = ()


def status_code(code: Code) -> grpc.StatusCode:
    return _STATUS_CODES.get(int(code), grpc.StatusCode.UNKNOWN)


def failure_of(error: ApiError) -> Failure:
    """The error as a status, with REST's `details` (google.rpc.BadRequest ...) where it has
    them, as the `grpc-status-details-bin` trailer the clients read them from."""
    code = status_code(error.code)
    if not error.details:
        return Failure(code, error.message)
    rich = {"code": int(error.code), "message": error.message, "details": error.details}
    try:
        status = json_format.ParseDict(rich, status_pb2.Status(), ignore_unknown_fields=True)
    except json_format.ParseError:  # a detail of a type this process does not know
        return Failure(code, error.message)
    return Failure(code, error.message, ((STATUS_DETAILS, status.SerializeToString()),))


def internal_failure(error: Exception) -> Failure:
    return Failure(grpc.StatusCode.INTERNAL, f"Internal error: {type(error).__name__}.")
