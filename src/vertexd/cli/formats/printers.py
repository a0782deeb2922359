"""The printers: value, csv, table, list, none, json and yaml, byte for byte like gcloud's."""

from __future__ import annotations

import json
from typing import Any

import yaml

from vertexd.cli.formats.parser import Format
from vertexd.cli.formats.projection import cell, labels, project


def number(value: float) -> str:
    """gcloud's float: 6 significant digits, no exponent below 1e9."""
    text = f"{value:.6}"
    if "e+" in text and int(text.split("e+")[1]) < 9:
        return f"{value:.1f}"
    return text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return number(value)
    return str(value)


class _Quoter:
    """csv/value fields: quoted only when they hold a separator, delimiter, quote, newline or
    leading/trailing space (value quotes only with [quote])."""

    def __init__(self, spec: Format, csv: bool) -> None:
        attrs = spec.attributes
        self.delimiter = str(attrs.get("delimiter", ";"))
        self.separator = str(attrs.get("separator", "," if csv else "\t"))
        self.terminator = str(attrs.get("terminator", "\n"))
        wanted = not attrs.get("no-quote") if csv else bool(attrs.get("quote"))
        self.quote = '"' if wanted else ""

    def field(self, text: str) -> str:
        if not text or not self.quote:
            return text
        special = (self.delimiter, self.quote, self.separator, self.terminator)
        if any(s and s in text for s in special) or text[0].isspace() or text[-1].isspace():
            return self.quote + text.replace(self.quote, self.quote * 2) + self.quote
        return text

    def value(self, value: Any) -> str:
        if isinstance(value, dict):
            items = sorted(value.items())
            return self.delimiter.join(self.field(f"{k}={_text(v)}") for k, v in items)
        if isinstance(value, list):
            return self.delimiter.join(self.field(_text(x)) if x else "" for x in value)
        return self.field(_text(value))


def _separated(spec: Format, records: list[Any], csv: bool) -> str:
    quoter = _Quoter(spec, csv)
    lines: list[str] = []
    if csv and not spec.attributes.get("no-heading") and records:
        heading = [quoter.field(label.lower()) for label in labels(spec.columns)]
        lines.append(quoter.separator.join(heading))
    for record in records:
        lines.append(quoter.separator.join(quoter.value(cell(record, c)) for c in spec.columns))
    return "".join(line + quoter.terminator for line in lines)


def _sorted_rows(spec: Format, rows: list[list[str]]) -> list[list[str]]:
    """table's own :sort=N columns (lower N first), each :reverse as it says."""
    ordered = sorted(
        (c.order, index, c.reverse) for index, c in enumerate(spec.columns) if c.order is not None
    )
    for _, index, reverse in reversed(ordered):
        rows = sorted(rows, key=lambda row, i=index: row[i], reverse=reverse)  # type: ignore[misc]
    return rows


def _table(spec: Format, records: list[Any]) -> str:
    if not records:
        return ""
    rows = _sorted_rows(spec, [[_text(cell(r, c)) for c in spec.columns] for r in records])
    heading = [] if spec.attributes.get("no-heading") else [labels(spec.columns)]
    pad = int(spec.attributes.get("pad", 2))
    widths = [max(len(row[i]) for row in heading + rows) for i in range(len(spec.columns))]
    out: list[str] = []
    title = spec.attributes.get("title")
    if isinstance(title, str):
        out.append(title.center(sum(widths) + pad * (len(widths) - 1)).rstrip())
    for row in heading + rows:
        cells = [_justify(text, widths[i], spec.columns[i].align) for i, text in enumerate(row)]
        out.append((" " * pad).join(cells).rstrip())
    return "".join(line + "\n" for line in out)


def _justify(text: str, width: int, align: str) -> str:
    if align == "right":
        return text.rjust(width)
    if align == "center":
        return text.center(width)
    return text.ljust(width)


def _list(spec: Format, records: list[Any]) -> str:
    separator = " " if spec.attributes.get("compact") else "\n   "
    out: list[str] = []
    title = spec.attributes.get("title")
    if isinstance(title, str) and records:
        out.append(title + "\n")
    for record in records:
        if spec.columns:
            items = [_text(v) for v in (cell(record, c) for c in spec.columns) if v is not None]
        elif isinstance(record, dict):
            items = [f"{k}: {v}" for k, v in sorted(record.items()) if v is not None]
        elif isinstance(record, list):
            items = [str(item) for item in record if item is not None]
        else:
            items = [_text(record)]
        out.append(" - " + separator.join(items) + "\n")
    return "".join(out)


def _structured(spec: Format, data: Any, single: bool) -> str:
    if spec.columns:
        records = [data] if single else data
        projected = [project(record, spec.columns) for record in records]
        data = projected[0] if single else projected
    if spec.name == "json":
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=True, allow_unicode=True)


def render_records(spec: Format, data: Any, single: bool) -> str:
    """`data` (one resource if `single`, else a list of them) printed as `spec` says."""
    if spec.name in ("json", "yaml"):
        return _structured(spec, data, single)
    records = [data] if single else list(data)
    if spec.name == "value":
        return _separated(spec, records, csv=False)
    if spec.name == "csv":
        return _separated(spec, records, csv=True)
    if spec.name == "table":
        return _table(spec, records)
    if spec.name == "list":
        return _list(spec, records)
    return ""  # none
