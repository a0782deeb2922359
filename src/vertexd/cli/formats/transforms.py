"""The projection transforms scripts use most: basename(), date(), len(), list(), join()."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# A transform: (value, positional args, keyword args) -> value.
TransformFunction = Callable[[Any, tuple[str, ...], dict[str, str]], Any]


def _arg(args: tuple[str, ...], kwargs: dict[str, str], index: int, name: str, default: str) -> str:
    if name in kwargs:
        return kwargs[name]
    return args[index] if index < len(args) else default


def basename(value: Any, args: tuple[str, ...], kwargs: dict[str, str]) -> Any:
    """The last path component of a URI or file path."""
    undefined = _arg(args, kwargs, 0, "undefined", "")
    if not value:
        return undefined
    text = str(value)
    for separator in ("/", "\\"):
        if separator in text:
            return text.rsplit(separator, 1)[1]
    return text or undefined


def date(value: Any, args: tuple[str, ...], kwargs: dict[str, str]) -> Any:
    """A timestamp (RFC 3339 text, or seconds since the epoch) as strftime(format); in the
    time zone `tz` if given, else the timestamp's own (UTC for `...Z`)."""
    fmt = _arg(args, kwargs, 0, "format", "%Y-%m-%dT%H:%M:%S")
    unit = _arg(args, kwargs, 1, "unit", "1")
    undefined = _arg(args, kwargs, 2, "undefined", "")
    tz = _arg(args, kwargs, 3, "tz", "")
    moment = _moment(value, unit)
    if moment is None:
        return undefined
    if tz:
        try:
            moment = moment.astimezone(ZoneInfo(tz))
        except (ZoneInfoNotFoundError, ValueError):
            return undefined
    return moment.strftime(fmt)


def _moment(value: Any, unit: str) -> datetime | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return datetime.fromtimestamp(float(value) / float(unit), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        pass
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.astimezone()


def length(value: Any, args: tuple[str, ...], kwargs: dict[str, str]) -> Any:
    """The number of items of a list or mapping, or characters of a string; 0 for nothing."""
    try:
        return len(value)
    except TypeError:
        return 0


def as_list(value: Any, args: tuple[str, ...], kwargs: dict[str, str]) -> Any:
    """A list (or a mapping's keys=values) as one separator-joined string."""
    separator = _arg(args, kwargs, 1, "separator", ",")
    undefined = _arg(args, kwargs, 0, "undefined", "")
    if isinstance(value, dict):
        value = [f"{k}={v}" for k, v in sorted(value.items())]
    if isinstance(value, list):
        return separator.join(str(item) for item in value) or undefined
    return value if value or value == 0 else undefined


def join(value: Any, args: tuple[str, ...], kwargs: dict[str, str]) -> Any:
    """The items of a list joined by `sep` (default "/")."""
    separator = _arg(args, kwargs, 0, "sep", "/")
    undefined = _arg(args, kwargs, 1, "undefined", "")
    if isinstance(value, list | tuple):
        return separator.join(str(item) for item in value) or undefined
    return value if value else undefined


TRANSFORMS: dict[str, TransformFunction] = {
    "basename": basename,
    "date": date,
    "join": join,
    "len": length,
    "list": as_list,
}
