"""What the commands print: resources as YAML/JSON, job tables, log lines."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import yaml
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vertexd.cli.formats import render

# Wide enough that a table written to a pipe or file is never wrapped.
PIPE_WIDTH = 240


def _console() -> Console:
    console = Console(highlight=False, soft_wrap=False)
    return console if console.is_terminal else Console(highlight=False, width=PIPE_WIDTH)


def render_resource(resource: Any, output_format: str = "yaml") -> str:
    """gcloud's default output: YAML with sorted keys (json: indented, sorted); any other
    gcloud format expression (`value(name)`, `table(...)`, ...) as gcloud prints it."""
    if output_format not in ("json", "yaml"):
        return render(resource, output_format, single=not isinstance(resource, list))
    if output_format == "json":
        return json.dumps(resource, indent=2, sort_keys=True) + "\n"
    return yaml.safe_dump(resource, default_flow_style=False, sort_keys=True, allow_unicode=True)


def print_resource(resource: Any, output_format: str = "yaml") -> None:
    sys.stdout.write(render_resource(resource, output_format))
    sys.stdout.flush()


def job_id(job: dict[str, Any]) -> str:
    return str(job.get("name", "")).rsplit("/", 1)[-1]


def print_jobs_table(jobs: list[dict[str, Any]]) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for label in ("ID", "DISPLAY_NAME", "STATE", "CREATE_TIME"):
        table.add_column(label, no_wrap=True)
    for job in jobs:
        state = str(job.get("state", ""))
        table.add_row(
            job_id(job),
            str(job.get("displayName", "")),
            Text(state, style=_state_style(state)),
            str(job.get("createTime", "")),
        )
    print_table(table)


def print_table(table: Table) -> None:
    """A table on stdout: as wide as the terminal, never wrapped in a pipe or a file."""
    _console().print(table)


def _state_style(state: str) -> str:
    if state.endswith("SUCCEEDED"):
        return "green"
    if state.endswith(("FAILED", "EXPIRED")):
        return "red"
    if state.endswith(("CANCELLED", "CANCELLING")):
        return "yellow"
    return ""


def log_severity(entry: dict[str, Any]) -> str:
    """Like Vertex: what a replica writes to stderr is an ERROR, stdout and the service INFO."""
    return "ERROR" if entry.get("stream") == "stderr" else "INFO"


def local_time(stamp: str) -> str:
    """`2026-11-25T16:40:01.123456Z` -> `2026-11-25 17:40:01 +0100` (local time zone)."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def format_log_entry(entry: dict[str, Any], allow_multiline: bool = False) -> list[str]:
    """gcloud's stream-logs lines: severity, time, task name and message, tab-separated; a
    multi-line message becomes one line per message line unless `allow_multiline`."""
    prefix = "\t".join(
        (
            log_severity(entry),
            local_time(str(entry.get("time", ""))),
            str(entry.get("taskName", "")),
        )
    )
    text = str(entry.get("text", "")).rstrip("\n")
    messages = [text] if allow_multiline else text.split("\n")
    return [f"{prefix}\t{message}" for message in messages]


class LogPrinter:
    """Writes log lines to stdout: plain in a pipe, ERROR lines in red on a terminal."""

    def __init__(self, allow_multiline: bool = False) -> None:
        self._console = Console(highlight=False, soft_wrap=True, markup=False)
        self._styled = self._console.is_terminal
        self._allow_multiline = allow_multiline

    def __call__(self, entry: dict[str, Any]) -> None:
        style = "red" if log_severity(entry) == "ERROR" else ""
        for line in format_log_entry(entry, self._allow_multiline):
            if self._styled:
                self._console.print(Text(line, style=style))
            else:
                sys.stdout.write(line + "\n")
        sys.stdout.flush()
