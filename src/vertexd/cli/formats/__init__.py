"""gcloud's --format language (value, table, csv, list, none, json, yaml; keys, labels,
transforms) and --flatten, kept apart from the commands that use it."""

from __future__ import annotations

from typing import Any

from vertexd.cli.formats.parser import PRINTERS, Format, FormatError, UnknownFormat, parse
from vertexd.cli.formats.printers import render_records
from vertexd.cli.formats.projection import flatten, resolve

__all__ = [
    "PRINTERS",
    "Format",
    "FormatError",
    "UnknownFormat",
    "flatten",
    "parse",
    "render",
    "resolve",
]


def render(data: Any, expression: str, single: bool = False) -> str:
    """`data` as the format `expression` prints it: one resource if `single`, else a list."""
    return render_records(parse(expression), data, single)
