"""Building blocks for the v1 wire format: camelCase models, enums, int64, durations, times.

Proto3 JSON rules as the official clients use them: enums arrive as names or integers
and leave as names unless the caller asked for `enum-encoding=int`; int64 leaves as a
string; default values are left out of answers.
"""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime
from enum import IntEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    SerializationInfo,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

E = TypeVar("E", bound=IntEnum)


class VertexModel(BaseModel):
    """A proto message in its JSON form: camelCase on the wire. Fields of the v1 message that
    vertexd does not model are kept as sent and written back (`extra="allow"`): a request body
    reaches a model only through `v1_fields.read_request`, which refuses names the v1 message
    does not have, drops output-only ones and gives every name in its JSON spelling."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", validate_assignment=False
    )

    def to_wire(self, enum_ints: bool = False) -> dict[str, Any]:
        return self.model_dump(
            by_alias=True,
            exclude_none=True,
            mode="json",
            context={"enum_ints": enum_ints},
        )


def _parse_enum(cls: type[E], value: Any) -> E:
    if isinstance(value, cls):
        return value
    if isinstance(value, bool):
        raise ValueError(f"invalid value {value!r} for enum {cls.__name__}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int | str):
        raise ValueError(f"invalid value {value!r} for enum {cls.__name__}")
    try:
        return cls(value) if isinstance(value, int) else cls[value]
    except (KeyError, ValueError):
        raise ValueError(f"invalid value {value!r} for enum {cls.__name__}") from None


def _serialize_enum(value: IntEnum, info: SerializationInfo) -> int | str:
    context = info.context or {}
    return int(value) if context.get("enum_ints") else value.name


def enum_field(cls: type[E]) -> Any:
    """An enum field that accepts names or integers (the Python SDK sends integers)."""
    return Annotated[
        cls,
        PlainValidator(lambda v: _parse_enum(cls, v)),
        PlainSerializer(_serialize_enum),
        WithJsonSchema(_enum_schema(cls)),
    ]


def _enum_schema(cls: type[IntEnum]) -> dict[str, Any]:
    """Names, or their numbers (what `enum-encoding=int` clients send and get)."""
    names = {"type": "string", "enum": [m.name for m in cls]}
    return {"anyOf": [names, {"type": "integer", "enum": [int(m) for m in cls]}]}


def _parse_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+\.0*", value.strip()):
        return int(float(value))
    raise ValueError(f"expected an integer, got {value!r}")


# int64 travels as a JSON string; int32 as a number. Both accept 1.0 (google.protobuf.Value).
Int64 = Annotated[
    int,
    BeforeValidator(_parse_integer),
    PlainSerializer(lambda v: str(v), return_type=str),
    WithJsonSchema({"type": "string", "format": "int64"}),
]
Int32 = Annotated[int, BeforeValidator(_parse_integer)]


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Timestamp = Annotated[
    datetime,
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def now() -> datetime:
    return datetime.now(UTC)


_DURATION = re.compile(r"^(\d+(?:\.\d{0,9})?)s$")


def _parse_duration(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value}s"
    if isinstance(value, str) and _DURATION.match(value.strip()):
        return value.strip()
    raise ValueError(
        f"invalid duration {value!r}: expected seconds with an 's' suffix, like '3600s'"
    )


# google.protobuf.Duration in JSON: "3600s", "1.5s".
Duration = Annotated[str, BeforeValidator(_parse_duration)]


def duration_seconds(value: str) -> float:
    match = _DURATION.match(value)
    assert match, value
    return float(match.group(1))


class Status(VertexModel):
    """google.rpc.Status."""

    code: int = 0
    message: str = ""
    details: list[dict[str, Any]] | None = None


class EnvVar(VertexModel):
    name: str
    value: str = ""


class GcsDestination(VertexModel):
    output_uri_prefix: str


def new_job_id() -> str:
    """19 digits like Vertex's ids, increasing with time so ids sort by creation."""
    return str(time.time_ns() // 1000 * 1000 + random.randrange(1000))
