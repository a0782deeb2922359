"""What every command shares: gcloud-shaped errors, project/region/home defaults, resource names."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

DEFAULT_PROJECT = "vertexd"
DEFAULT_REGION = "us-central1"
JOB_NAME = re.compile(r"^projects/[^/]+/locations/[^/]+/customJobs/[^/]+$")


class CliError(Exception):
    """A failure the user sees as `ERROR: (vertexd.GROUP.COMMAND) MESSAGE`."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class InvalidFlagValue(CliError):
    """A flag value the command rejects after parsing (gcloud's InvalidArgumentException)."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(f"Invalid value for [{flag}]: {message}")


class FlagSyntaxError(CliError):
    """A flag that cannot be parsed at all; like argparse errors it exits with 2."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(f"argument {flag}: {message}", exit_code=2)


class ApiCallError(CliError):
    """An error answer of the REST API: `{"error": {"code", "message", "status"}}`."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


@dataclass
class OutputSettings:
    """What gcloud's --verbosity and --[no-]user-output-enabled set for this run."""

    level: int = logging.WARNING  # warnings print at WARNING and below, errors at ERROR and below
    user_output: bool = True  # progress, hints and printed resources


OUTPUT = OutputSettings()


def status(message: str) -> None:
    """Progress and hints go to stderr, like gcloud's log.status."""
    if OUTPUT.user_output:
        print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    if OUTPUT.level <= logging.WARNING:
        print(f"WARNING: {message}", file=sys.stderr, flush=True)


def error_line(message: str) -> None:
    """An `ERROR: ...` line, unless --verbosity is critical or none."""
    if OUTPUT.level <= logging.ERROR:
        print(message, file=sys.stderr, flush=True)


@contextmanager
def reporting(command: str) -> Iterator[None]:
    """Every failure of `command` (e.g. "custom-jobs.create") as one line and an exit code."""
    prefix = f"ERROR: (vertexd.{command})" if command else "ERROR: (vertexd)"
    try:
        yield
    except CliError as error:
        error_line(f"{prefix} {error.message}")
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        status("\n\nCommand killed by keyboard interrupt\n")
        raise typer.Exit(1) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:  # noqa: BLE001 - the user gets a line, never a traceback
        error_line(f"{prefix} vertexd crashed ({type(error).__name__}): {error}")
        raise typer.Exit(1) from None


def resolve_project(flag: str | None) -> str:
    return (
        flag
        or os.environ.get("VERTEXD_PROJECT")
        or os.environ.get("CLOUDSDK_CORE_PROJECT")
        or DEFAULT_PROJECT
    )


def resolve_region(flag: str | None) -> str:
    return flag or os.environ.get("CLOUDSDK_AI_REGION") or DEFAULT_REGION


def resolve_home(flag: Path | None) -> Path:
    if flag is not None:
        return flag.expanduser().absolute()
    from_env = os.environ.get("VERTEXD_HOME")
    if from_env:
        return Path(from_env).expanduser().absolute()
    return Path.home() / ".vertexd"


def parent_name(project: str, region: str) -> str:
    return f"projects/{project}/locations/{region}"


def custom_job_name(name_or_id: str, project: str, region: str) -> str:
    """A full `projects/P/locations/L/customJobs/ID` (or a URL ending in one), or a bare ID."""
    if "projects/" in name_or_id:
        name = name_or_id[name_or_id.index("projects/") :].rstrip("/")
        if not JOB_NAME.match(name):
            raise InvalidFlagValue(
                "CUSTOM_JOB",
                f"[{name_or_id}] is not of the form projects/P/locations/L/customJobs/ID.",
            )
        return name
    if not name_or_id or "/" in name_or_id:
        raise InvalidFlagValue("CUSTOM_JOB", f"[{name_or_id}] is neither a job ID nor a job name.")
    return f"{parent_name(project, region)}/customJobs/{name_or_id}"
