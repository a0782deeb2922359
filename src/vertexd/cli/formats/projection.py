"""What a column shows of a resource: the value at its key, transformed; and its heading."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from vertexd.cli.formats.parser import Column, KeyPart, parse_key
from vertexd.cli.formats.transforms import TRANSFORMS

_SNAKE = re.compile(r"((?<=[a-z0-9])[A-Z]+|(?!^)[A-Z](?=[a-z]))")


def resolve(resource: Any, key: Iterable[KeyPart]) -> Any:
    """The value at `key`: None where anything is missing; `[]` maps the rest over a list."""
    parts = list(key)
    value = resource
    for position, part in enumerate(parts):
        if part is None:
            if not isinstance(value, list):
                return None
            return [resolve(item, parts[position + 1 :]) for item in value]
        if isinstance(part, int):
            if not isinstance(value, list) or not -len(value) <= part < len(value):
                return None
            value = value[part]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def cell(resource: Any, column: Column) -> Any:
    """The column's value in `resource`, after its transforms."""
    value = resolve(resource, column.key)
    for transform in column.transforms:
        value = TRANSFORMS[transform.name](value, transform.args, dict(transform.kwargs))
    return value


def labels(columns: Iterable[Column]) -> list[str]:
    """Headings: the explicit label, else the key's last name in ANGRY_SNAKE_CASE, with names
    to its left added until it differs from the headings before it (as gcloud does)."""
    seen: set[str] = set()
    out: list[str] = []
    for column in columns:
        if column.label is not None:
            out.append(column.label)
            continue
        names = [part for part in column.key if isinstance(part, str)]
        if not names and column.transforms:
            names = [column.transforms[0].name]
        label = ""
        for name in reversed(names):
            snake = _SNAKE.sub(r"_\1", name).upper()
            label = f"{snake}_{label}" if label else snake
            if label not in seen:
                break
        seen.add(label)
        out.append(label)
    return out


def flatten(resources: list[Any], keys: Iterable[str]) -> list[Any]:
    """--flatten: one record per item of each list at `keys` (an empty or missing list leaves
    one record, with None there)."""
    for dotted in keys:
        key: list[KeyPart] = [part for part in parse_key(dotted) if part is not None]
        flat: list[Any] = []
        for resource in resources:
            items = resolve(resource, key)
            if isinstance(items, list) and items:
                flat += [_replaced(resource, key, item) for item in items]
            else:
                flat.append(_replaced(resource, key, None) if items is not None else resource)
        resources = flat
    return resources


def _replaced(resource: Any, key: Sequence[KeyPart], value: Any) -> Any:
    """A copy of `resource` with `value` at `key` (copying only the path to it)."""
    if not key:
        return value
    head, rest = key[0], key[1:]
    if isinstance(head, str) and isinstance(resource, dict):
        return {**resource, head: _replaced(resource.get(head), rest, value)}
    if isinstance(head, int) and isinstance(resource, list):
        copy = list(resource)
        copy[head] = _replaced(copy[head], rest, value)
        return copy
    return resource


def project(resource: Any, columns: Iterable[Column]) -> dict[str, Any]:
    """json(...)/yaml(...): only the columns' keys, nested as in the resource (indexes are
    dropped from the path)."""
    out: dict[str, Any] = {}
    for column in columns:
        names = [part for part in column.key if isinstance(part, str)]
        if not names:
            continue
        value = cell(resource, column)
        if value is None:
            continue
        target = out
        for name in names[:-1]:
            target = target.setdefault(name, {})
        target[names[-1]] = value
    return out
