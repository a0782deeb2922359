"""describe/list/cancel/stream-logs, written once for both job groups: their flags, hints
and messages (no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup

from vertexd.cli import custom_jobs, hp_tuning_jobs
from vertexd.cli.common import FlagSyntaxError
from vertexd.cli.main import app
from vertexd.cli.options import checked_format

SHARED = ["region", "project", "endpoint", "home"]


def commands(group: str) -> dict[str, Any]:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    sub = root.commands[group]
    assert isinstance(sub, TyperGroup)
    return dict(sub.commands)


def command(group: str, name: str) -> Any:
    return commands(group)[name]


def flags(group: str, name: str) -> list[str | None]:
    return [param.name for param in command(group, name).params]


@pytest.mark.parametrize("group", ["custom-jobs", "hp-tuning-jobs"])
def test_both_groups_have_the_same_commands_and_flags(group: str) -> None:
    assert list(commands(group))[:5] == ["create", "describe", "list", "cancel", "stream-logs"]
    assert flags(group, "describe") == ["job", "output_format", *SHARED]
    assert flags(group, "cancel") == ["job", *SHARED]
    listing = [
        "filter_",
        "limit",
        "page_size",
        "sort_by",
        "uri",
        "flatten",
        "output_format",
        *SHARED,
    ]
    assert flags(group, "list") == listing


def test_stream_logs_flags_differ_only_by_the_kinds_own() -> None:
    logs = ["task_name", "polling_interval", "allow_multiline_logs", *SHARED]
    assert flags("custom-jobs", "stream-logs") == ["job", *logs]
    assert flags("hp-tuning-jobs", "stream-logs") == ["job", "trial_id", *logs]
    argument = command("hp-tuning-jobs", "stream-logs").params[0]
    assert argument.metavar == "HP_TUNING_JOB"


def test_hints_name_the_job_as_each_group_does() -> None:
    name = "projects/p/locations/europe-west4/customJobs/12"
    hint = custom_jobs.KIND.hint("describe", name, "europe-west4", "http://h:1", Path("/x"))
    assert hint == f"  $ vertexd custom-jobs describe {name} --endpoint=http://h:1 --home=/x"
    tuning = "projects/p/locations/europe-west4/hyperparameterTuningJobs/34"
    hint = hp_tuning_jobs.KIND.hint("describe", tuning, "europe-west4", None, None)
    assert hint == "  $ vertexd hp-tuning-jobs describe 34 --region=europe-west4"
    assert hp_tuning_jobs.KIND.job_label(tuning) == "34"
    assert custom_jobs.KIND.job_label(name) == name


def test_format_is_yaml_json_or_nothing() -> None:
    assert checked_format("json") == "json"
    assert checked_format(None) is None and checked_format("") is None
    with pytest.raises(FlagSyntaxError, match="Invalid choice: 'xml'"):
        checked_format("xml")
