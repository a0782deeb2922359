"""The `vertexd` program: gcloud-wide flags taken out and applied, then the typer app."""

from __future__ import annotations

import sys

import typer

from vertexd.cli.common import reporting
from vertexd.cli.global_flags import apply, command_path, split_global_flags
from vertexd.cli.main import app


def run() -> None:
    root = typer.main.get_command(app)
    argv = sys.argv[1:]
    try:
        with reporting(command_path(argv, root)[0]):
            args, flags = split_global_flags(argv, root)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    apply(flags, argv)
    app(args=args, prog_name="vertexd")
