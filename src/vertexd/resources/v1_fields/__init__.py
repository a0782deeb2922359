"""A request body read as Google's JSON parser reads it, against the v1 messages' own fields
(`fields.json`, generated from the descriptors in google-cloud-aiplatform; see `generate.py`).

- A name the message does not have is refused in Google's words (`Invalid JSON payload
  received. Unknown name "x" at 'custom_job.job_spec': Cannot find field.`), with a
  google.rpc.BadRequest detail per field; so is a value of the wrong JSON type.
- Both the proto name (`job_spec`) and the JSON name (`jobSpec`) are accepted; the body comes
  back with JSON names only, output-only fields dropped and every other field as sent.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

from vertexd.core.errors import InvalidArgument, bad_request

PACKAGE = "google.cloud.aiplatform.v1."
_INTEGERS = {
    f"TYPE_{kind}{bits}" for kind in ("INT", "UINT", "SINT", "FIXED", "SFIXED") for bits in (32, 64)
}
_NUMBERS = {"TYPE_DOUBLE", "TYPE_FLOAT"}
_TEXTS = {"TYPE_STRING", "TYPE_BYTES"}


@cache
def _table() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = json.loads(
        Path(__file__).with_name("fields.json").read_text()
    )
    return loaded


@cache
def _index(message: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Both spellings of each field -> (proto name, its entry)."""
    fields = _table()["messages"][message]
    index = {entry["json"]: (name, entry) for name, entry in fields.items()}
    index.update({name: (name, entry) for name, entry in fields.items()})
    return index


def message_fields(message: str) -> dict[str, dict[str, Any]]:
    """The fields of a v1 message (`CustomJobSpec`) by proto name."""
    return dict(_table()["messages"][_full(message)])


def _full(message: str) -> str:
    return message if "." in message else PACKAGE + message


def read_request(body: Any, message: str, at: str) -> dict[str, Any]:
    """`body` as message `message` (`CustomJob`), the field paths rooted at `at` (the request
    field that carries it: `custom_job`). Raises INVALID_ARGUMENT naming every bad field."""
    problems: list[tuple[str, str]] = []
    result = _Reader(problems).message(body, _full(message), at)
    if problems:
        message_text = "\n".join(text for _, text in problems)
        raise InvalidArgument(message_text, details=bad_request(problems))
    return result if isinstance(result, dict) else {}


class _Reader:
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems

    def invalid(self, path: str, type_name: str, value: Any) -> None:
        shown = json.dumps(value, separators=(",", ":"))
        self.problems.append((path, f"Invalid value at '{path}' ({type_name}), {shown}"))

    def message(self, value: Any, message: str, path: str) -> Any:
        if not isinstance(value, dict):
            self.invalid(path, f"type.googleapis.com/{message}", value)
            return None
        index, result = _index(message), {}
        for key, item in value.items():
            found = index.get(key)
            if found is None:
                text = f"Invalid JSON payload received. Unknown name \"{key}\" at '{path}': "
                self.problems.append((path, text + "Cannot find field."))
                continue
            name, entry = found
            if entry.get("outputOnly") or item is None:
                continue  # Vertex ignores output-only fields a client sends back
            if isinstance(item, list) and not (entry.get("repeated") or entry["kind"] == "free"):
                text = f"Invalid JSON payload received. Unknown name \"{key}\" at '{path}': "
                self.problems.append(
                    (path, text + "Proto field is not repeating, cannot start list.")
                )
                continue
            result[entry["json"]] = self.field(item, entry, f"{path}.{name}")
        return result

    def field(self, value: Any, entry: dict[str, Any], path: str) -> Any:
        if entry.get("map"):
            if not isinstance(value, dict):
                self.invalid(path, "map", value)
                return None
            return {
                key: self.single(item, entry, f"{path}[{i}].value")
                for i, (key, item) in enumerate(value.items())
            }
        if entry.get("repeated"):
            if not isinstance(value, list):
                self.invalid(path, _type_name(entry), value)
                return None
            return [self.single(item, entry, f"{path}[{i}]") for i, item in enumerate(value)]
        return self.single(value, entry, path)

    def single(self, value: Any, entry: dict[str, Any], path: str) -> Any:
        kind, type_name = entry["kind"], entry["type"]
        if kind == "message":
            return self.message(value, type_name, path)
        if kind == "scalar" and not _scalar_ok(value, type_name):
            self.invalid(path, _type_name(entry), value)
        return value


def _type_name(entry: dict[str, Any]) -> str:
    type_name = str(entry["type"])
    return type_name if type_name.startswith("TYPE_") else f"type.googleapis.com/{type_name}"


def _scalar_ok(value: Any, type_name: str) -> bool:
    """What proto3 JSON takes for a scalar: int64 as a number or a string, enums by name or
    number, well-known types (Duration, Timestamp, wrappers) as a string, number or bool."""
    if isinstance(value, dict | list):
        return False
    if type_name in _TEXTS:
        return isinstance(value, str)
    if type_name == "TYPE_BOOL":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return type_name.startswith("google.protobuf.") and "Value" in type_name
    if type_name in _INTEGERS:
        return _integral(value)
    if type_name in _NUMBERS:
        return isinstance(value, int | float) or _numeric_text(value)
    enum = _table()["enums"].get(type_name)
    if enum is not None:
        return (isinstance(value, str) and value in enum) or _integral(value)
    return True  # Duration, Timestamp, FieldMask, wrappers: their own rules, checked where used


def _integral(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer()
    if isinstance(value, str):
        try:
            return float(value.strip()).is_integer()
        except ValueError:
            return False
    return False


def _numeric_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True
