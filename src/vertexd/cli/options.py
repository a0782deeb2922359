"""The flags every job command shares (gcloud's --region, --project, --format, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vertexd.cli.common import CliError, FlagSyntaxError
from vertexd.cli.formats import FormatError, UnknownFormat, parse

CONNECTION = "Connection"
Region = Annotated[
    str | None,
    typer.Option(help="Region of the job (default: $CLOUDSDK_AI_REGION or us-central1)."),
]
Project = Annotated[
    str | None,
    typer.Option(
        help="Project of the job (default: $VERTEXD_PROJECT, $CLOUDSDK_CORE_PROJECT or vertexd)."
    ),
]
Endpoint = Annotated[
    str | None,
    typer.Option(
        help="URL of a vertexd server (default: $VERTEXD_ENDPOINT, else <home>/server.json, "
        "else one is started).",
        rich_help_panel=CONNECTION,
    ),
]
Home = Annotated[
    Path | None,
    typer.Option(
        help="vertexd home (default: $VERTEXD_HOME or ~/.vertexd).", rich_help_panel=CONNECTION
    ),
]
Format = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Output format, as gcloud's: yaml, json, value(KEYS), table(KEYS), csv(KEYS), list "
        "or none; e.g. value(name), table(name.basename():label=ID,state).",
    ),
]
PollingInterval = Annotated[
    float, typer.Option(help="Seconds between two fetches of new log lines.", min=0.0)
]


def checked_format(value: str | None) -> str | None:
    """The --format value (None when not given, or given empty), checked: an unknown format name
    is a syntax error of the flag, a malformed expression an error like gcloud's."""
    if value:
        try:
            parse(value)
        except UnknownFormat as error:
            raise FlagSyntaxError("--format", f"Invalid choice: '{error.name}'. {error}") from None
        except FormatError as error:
            raise CliError(str(error)) from None
    return value or None


def connection_flags(endpoint: str | None, home: Path | None) -> str:
    """The --endpoint and --home a hint repeats, so that the suggested command reaches the same
    server."""
    flags = f" --endpoint={endpoint}" if endpoint else ""
    return flags + (f" --home={home}" if home else "")
