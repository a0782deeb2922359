"""Request helpers for the v1 wire format."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from vertexd.core.errors import InvalidArgument


def wants_int_enums(request: Request) -> bool:
    """The official clients send `$alt=json;enum-encoding=int` and expect enums as numbers."""
    return "enum-encoding=int" in request.query_params.get("$alt", "")


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"Invalid JSON payload received. {exc}") from None
