"""Small helpers every storage route uses: the JSON body, the base URL, query values."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from vertexd.storage.gcs.errors import GcsError, bad_request


async def json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise bad_request("The request body must be a JSON object.")
    return value


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def not_routed(request: Request) -> GcsError:
    return GcsError(
        404, "notFound", f"{request.method} {request.url.path} is not part of this storage API."
    )


def integer(request: Request, key: str, default: int) -> int:
    value = request.query_params.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"{key} must be an integer, not {value!r}.") from None
