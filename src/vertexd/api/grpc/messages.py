"""What every RPC adapter shares: the RPC record, the protobuf classes under the proto-plus
types, and the fields a request names the same way in every service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.longrunning import operations_pb2
from google.protobuf.message import Message

from vertexd.store.listing import ListQuery

Call = Callable[[dict[str, Any]], dict[str, Any]]
OPERATION: type[Message] = operations_pb2.Operation


@dataclass(frozen=True)
class Rpc:
    """One RPC: its service and method names, its messages, and the call that answers the
    request's dict with the response's."""

    service: str
    method: str
    request: type[Message]
    response: type[Message]
    call: Call


def pb(kind: Any) -> type[Message]:
    """The protobuf class under a proto-plus message type."""
    raw: type[Message] = kind.pb()
    return raw


def name(body: dict[str, Any]) -> str:
    return str(body.get("name", ""))


def list_query(body: dict[str, Any]) -> ListQuery:
    """A List request's paging and filter, as REST reads them from the query string."""
    return ListQuery(
        body.get("filter", ""),
        int(body.get("pageSize", 0)),
        body.get("pageToken", ""),
        body.get("orderBy", ""),
    )
