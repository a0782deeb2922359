"""What `hp-tuning-jobs` reads and prints: the --config file, the trials table, job names,
and the logs of a tuning job and its trials."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from rich import box
from rich.table import Table

from vertexd.cli.client import ApiClient
from vertexd.cli.common import InvalidFlagValue, parent_name
from vertexd.cli.job_spec import unknown_fields
from vertexd.cli.output import print_resource, print_table
from vertexd.resources.tuning_job import HyperparameterTuningJob
from vertexd.tuning.metrics import metric_value
from vertexd.tuning.trials import best_first

COLLECTION = "hyperparameterTuningJobs"
JOB_NAME = re.compile(rf"^projects/[^/]+/locations/[^/]+/{COLLECTION}/[^/]+$")
TERMINAL = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED")
ALGORITHMS = {
    "algorithm-unspecified": "ALGORITHM_UNSPECIFIED",
    "grid-search": "GRID_SEARCH",
    "random-search": "RANDOM_SEARCH",
}


def load_tuning_config(path: Path) -> dict[str, Any]:
    """The YAML file: a HyperparameterTuningJob (camelCase), as gcloud's --config takes it."""
    try:
        config = yaml.safe_load(path.expanduser().read_text())
    except OSError as error:
        message = f"Unable to read file [{path}]: {error.strerror}."
        raise InvalidFlagValue("--config", message) from None
    except yaml.YAMLError as error:
        message = f"Failed to parse YAML from [{path}]: {error}"
        raise InvalidFlagValue("--config", message) from None
    config = config if config is not None else {}
    if not isinstance(config, dict):
        raise InvalidFlagValue(
            "--config", f"[{path}] must hold a YAML mapping: the fields of a tuning job."
        )
    pools = (config.get("trialJobSpec") or {}).get("workerPoolSpecs")
    if isinstance(pools, dict):
        config["trialJobSpec"]["workerPoolSpecs"] = [pools]
    unknown = unknown_fields(config, HyperparameterTuningJob)
    if unknown:
        raise InvalidFlagValue(
            "--config",
            f"Unrecognized fields in the YAML config file: [{', '.join(unknown)}]. The file "
            "holds a HyperparameterTuningJob (studySpec, trialJobSpec, ...) in camelCase.",
        )
    return config


def tuning_job_name(name_or_id: str, project: str, region: str) -> str:
    if "projects/" in name_or_id:
        name = name_or_id[name_or_id.index("projects/") :].rstrip("/")
        if not JOB_NAME.match(name):
            raise InvalidFlagValue(
                "HP_TUNING_JOB",
                f"[{name_or_id}] is not of the form projects/P/locations/L/{COLLECTION}/ID.",
            )
        return name
    if not name_or_id or "/" in name_or_id:
        raise InvalidFlagValue("HP_TUNING_JOB", f"[{name_or_id}] is neither a job ID nor a name.")
    return f"{parent_name(project, region)}/{COLLECTION}/{name_or_id}"


def trials_table(job: dict[str, Any]) -> Table:
    """One row per trial, best first: its final value and parameters."""
    metrics = (job.get("studySpec") or {}).get("metrics") or [{}]
    metric, goal = str(metrics[0].get("metricId", "")), metrics[0].get("goal")
    trials = best_first(list(job.get("trials") or []), metric, goal)
    parameter_ids: list[str] = []
    for trial in trials:
        for parameter in trial.get("parameters", []):
            if parameter["parameterId"] not in parameter_ids:
                parameter_ids.append(parameter["parameterId"])
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for label in ("TRIAL_ID", "STATE", metric or "METRIC", *parameter_ids):
        table.add_column(label, no_wrap=True)
    for trial in trials:
        value = metric_value(trial.get("finalMeasurement") or {}, metric)
        shown = {p["parameterId"]: p["value"] for p in trial.get("parameters", [])}
        table.add_row(
            str(trial.get("id", "")),
            str(trial.get("state", "")),
            "" if value is None else f"{value:.6g}",
            *(_cell(shown.get(pid)) for pid in parameter_ids),
        )
    return table


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def print_tuning_job(job: dict[str, Any], fmt: str | None) -> None:
    """describe: the job but its trials as YAML, then a table of the trials, best first; with
    --format, the whole resource (trials included) in that format."""
    if fmt:
        print_resource(job, fmt)
        return
    print_resource({k: v for k, v in job.items() if k != "trials"}, "yaml")
    if job.get("trials"):
        print(f"\nTrials ({len(job['trials'])}, best first):")
        print_table(trials_table(job))


def follow_tuning_logs(
    client: ApiClient,
    name: str,
    on_entry: Callable[[dict[str, Any]], None],
    task_name: str | None,
    polling_interval: float,
) -> None:
    """The job's own log and every trial's, as they come, until the job and all its trials
    have ended. Trial entries' task names read `trial-<id>/<task>`."""
    offsets: dict[str, str] = {}
    while True:
        job = client.get(f"/v1/{name}")
        sources = [(name, "")] + [
            (str(t["customJob"]), f"trial-{t['id']}/") for t in job.get("trials") or []
        ]
        printed, finished = False, job.get("state") in TERMINAL
        for source, prefix in sources:
            page = client.get(
                f"/v1/{source}/logs", {"offset": offsets.get(source, "0"), "taskName": task_name}
            )
            for entry in page.get("entries") or []:
                on_entry({**entry, "taskName": prefix + str(entry.get("taskName", ""))})
                printed = True
            offsets[source] = str(page.get("nextOffset") or offsets.get(source, "0"))
            finished = finished and bool(page.get("done"))
        if finished:
            return
        if not printed:
            time.sleep(polling_interval)
