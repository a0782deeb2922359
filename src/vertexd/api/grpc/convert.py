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
from google.rpc import error_details_pb2, status_pb2

from vertexd.core.codes import Code
from vertexd.core.errors import ApiError, InvalidArgument

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
    """The error as a status; an InvalidArgument naming a field also carries a BadRequest
    detail (what `google.api_core` exceptions show as `details`)."""
    code = status_code(error.code)
    field = error.field if isinstance(error, InvalidArgument) else None
    if not field:
        return Failure(code, error.message)
    description = error.message.removeprefix(f"{field}: ")
    violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
    detail = status_pb2.Status(code=int(error.code), message=error.message)
    detail.details.add().Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    return Failure(code, error.message, ((STATUS_DETAILS, detail.SerializeToString()),))


def internal_failure(error: Exception) -> Failure:
    return Failure(grpc.StatusCode.INTERNAL, f"Internal error: {type(error).__name__}.")
