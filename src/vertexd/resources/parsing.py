"""Turn a request body into a model, or an INVALID_ARGUMENT that names the field path."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from vertexd.core.errors import InvalidArgument

M = TypeVar("M", bound=BaseModel)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """('jobSpec', 'workerPoolSpecs', 0, 'replicaCount')
    -> 'job_spec.worker_pool_specs[0].replica_count'"""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + snake(part)
    return path


def parse_model(model: type[M], body: Any, prefix: str = "") -> M:
    if not isinstance(body, dict):
        raise InvalidArgument("expected a JSON object", prefix or None)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidArgument(message, field_path(tuple(first["loc"]), prefix) or None) from None
