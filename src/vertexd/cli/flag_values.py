"""gcloud's list and dict flag syntax: `a,b,c`, `k=v,k2=v2`, and `^;^` to change the delimiter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from vertexd.cli.common import FlagSyntaxError, InvalidFlagValue

ALT_DELIMITER_MARK = "^"
_KEY_OP_VALUE = re.compile(r"([^=]+)(=?)(.*)", re.DOTALL)


def split_list(raw: str, flag: str, delimiter: str = ",") -> list[str]:
    """`a,b` -> [a, b]; `^:^a,b:c` -> [a,b, c]. One trailing delimiter is allowed, as in gcloud."""
    if raw.startswith(ALT_DELIMITER_MARK) and ALT_DELIMITER_MARK in raw[1:]:
        delimiter, raw = raw[1:].split(ALT_DELIMITER_MARK, 1)
        if not delimiter:
            raise FlagSyntaxError(flag, "Invalid delimiter: use ^X^ with a non-empty X.")
    if not raw:
        return []
    if not raw.endswith(delimiter):
        raw += delimiter
    return raw.split(delimiter)[:-1]


def parse_dict(
    raw: str, flag: str, spec: Mapping[str, Callable[[str], Any]] | None = None
) -> dict[str, Any]:
    """`k=v,k2=v2` -> {k: v, k2: v2}; with a spec, keys must be known and values are converted."""
    parsed: dict[str, Any] = {}
    for item in split_list(raw, flag):
        match = _KEY_OP_VALUE.fullmatch(item)
        if not match:
            raise FlagSyntaxError(flag, f"Invalid flag value [{item}]")
        key, equals, value = match.groups()
        if not equals:
            raise FlagSyntaxError(
                flag,
                f"Bad syntax for dict arg: [{key}]. Give items as KEY=VALUE; for a value that "
                "holds commas, choose another delimiter, e.g. ^;^key=a,b;key2=c.",
            )
        parsed[key] = _convert_value(key, value, flag, spec) if spec is not None else value
    return parsed


def _convert_value(
    key: str, value: str, flag: str, spec: Mapping[str, Callable[[str], Any]]
) -> Any:
    if key not in spec:
        known = ", ".join(sorted(spec))
        raise FlagSyntaxError(flag, f"valid keys are [{known}]; received: {key}")
    try:
        return spec[key](value)
    except ValueError:
        raise FlagSyntaxError(flag, f"Invalid value [{value}] for key [{key}]") from None


def merge_list_flag(values: Iterable[str] | None, flag: str) -> list[str] | None:
    """Repeated `--args=a,b --args=c` join into one list; an item given twice is an error."""
    if not values:
        return None
    merged: list[str] = []
    for raw in values:
        for item in split_list(raw, flag):
            if item in merged:
                raise FlagSyntaxError(flag, f'"{item}" cannot be specified multiple times')
            merged.append(item)
    return merged


def last_list_flag(values: Iterable[str] | None, flag: str) -> list[str] | None:
    """A list flag that is not merged: the last occurrence wins, like argparse's store."""
    given = list(values or [])
    return split_list(given[-1], flag) if given else None


def _label_key_ok(key: str) -> bool:
    first, rest = key[:1], key[1:]
    return (
        bool(first)
        and len(key) <= 63
        and _label_char_ok(first)
        and not first.isdigit()
        and first not in "-_"
        and all(_label_char_ok(c) for c in rest)
    )


def _label_char_ok(char: str) -> bool:
    return char in "-_" or char.isdigit() or (char.isalpha() and not char.isupper())


def _label_value_ok(value: str) -> bool:
    return len(value) <= 63 and all(_label_char_ok(c) for c in value)


def parse_labels(values: Iterable[str] | None, flag: str = "--labels") -> dict[str, str]:
    """Repeated `--labels=k=v,...` merge into one dict; keys and values follow label rules."""
    labels: dict[str, str] = {}
    for raw in values or []:
        for key, value in parse_dict(raw, flag).items():
            if key in labels:
                raise FlagSyntaxError(
                    flag,
                    f'"{key}" cannot be specified multiple times; received: {labels[key]}, {value}',
                )
            labels[key] = value
    for key, value in labels.items():
        if not _label_key_ok(key) or not _label_value_ok(value):
            raise InvalidFlagValue(
                flag,
                "Only hyphens (-), underscores (_), lowercase characters, and numbers are "
                "allowed. Keys must start with a lowercase character. International characters "
                "are allowed.",
            )
    return labels
