"""Regenerate `fields.json`, the field table of the v1 messages a create body may hold, from the
descriptors that ship with google-cloud-aiplatform (a development dependency only):

    python -m vertexd.resources.v1_fields.generate

Proto-plus descriptors carry no field options, so "Output only." is read from each
message's documented attributes, which the generator copies from the protos' comments.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

ROOTS = ("CustomJob", "HyperparameterTuningJob", "TrainingPipeline")
PACKAGE = "google.cloud.aiplatform.v1."
FREE = {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue",
        "google.protobuf.Any"}  # fmt: skip
SCALAR_MESSAGES = {"google.protobuf.Timestamp", "google.protobuf.Duration",
                   "google.protobuf.FieldMask"}  # fmt: skip
TYPE_ENUM = 14
TABLE = Path(__file__).with_name("fields.json")
_OUTPUT_ONLY = re.compile(r"^\s+(\w+) \([^\n]*\):\s*\n\s+Output only\.", re.MULTILINE)


def _types() -> Any:
    return importlib.import_module("google.cloud.aiplatform_v1.types")


def _output_only(full_name: str) -> set[str]:
    """Fields whose documentation begins with "Output only." (aiplatform messages only)."""
    if not full_name.startswith(PACKAGE):
        return set()
    target: Any = _types()
    for part in full_name.removeprefix(PACKAGE).split("."):
        target = getattr(target, part, None)
    return set(_OUTPUT_ONLY.findall(getattr(target, "__doc__", None) or ""))


def _kind(message: Any) -> str:
    name = message.full_name
    if name in FREE:
        return "free"
    if name in SCALAR_MESSAGES or re.fullmatch(r"google\.protobuf\.\w+Value", name):
        return "scalar"
    return "message"


def _scalar_type(field: Any) -> str:
    """TYPE_STRING, TYPE_INT64... as Google's JSON parser names them; an enum by its name."""
    if field.type == TYPE_ENUM:
        return str(field.enum_type.full_name)
    names = {v: k for k, v in vars(type(field)).items() if k.startswith("TYPE_")}
    return str(names[field.type])


def _enums(table: dict[str, dict[str, Any]], message: Any) -> None:
    for field in message.fields:
        enum = field.enum_type
        if enum is None and field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                enum = field.message_type.fields_by_name["value"].enum_type
        if enum is not None:
            table[enum.full_name] = {v.name: v.number for v in enum.values}


def _field(field: Any, output_only: set[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"json": field.json_name}
    target, value = field.message_type, field
    if target is not None and target.GetOptions().map_entry:
        value = target.fields_by_name["value"]
        entry["map"] = True
        target = value.message_type
    elif field.is_repeated:
        entry["repeated"] = True
    if target is not None:
        entry["kind"] = _kind(target)
        entry["type"] = target.full_name
    else:
        entry["kind"] = "scalar"
        scalar = value if entry.get("map") else field
        entry["type"] = _scalar_type(scalar)
    if field.name in output_only:
        entry["outputOnly"] = True
    return entry


def build() -> dict[str, dict[str, Any]]:
    types = _types()
    table: dict[str, dict[str, Any]] = {}
    enums: dict[str, dict[str, Any]] = {}
    pending = [getattr(types, root).pb().DESCRIPTOR for root in ROOTS]
    while pending:
        message = pending.pop()
        if message.full_name in table:
            continue
        output_only = _output_only(message.full_name)
        fields = {f.name: _field(f, output_only) for f in message.fields}
        table[message.full_name] = fields
        _enums(enums, message)
        for field in message.fields:
            target = field.message_type
            if target is not None and target.GetOptions().map_entry:
                target = target.fields_by_name["value"].message_type
            if target is not None and _kind(target) == "message":
                pending.append(target)
    return {"messages": dict(sorted(table.items())), "enums": dict(sorted(enums.items()))}


def render(table: dict[str, dict[str, Any]]) -> str:
    return json.dumps(table, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    TABLE.write_text(render(build()))
    print(f"wrote {TABLE}")
