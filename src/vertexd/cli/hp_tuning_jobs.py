"""`vertexd hp-tuning-jobs ...`: gcloud ai hp-tuning-jobs, against a vertexd server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vertexd.cli.client import connect
from vertexd.cli.common import (
    FlagSyntaxError,
    InvalidFlagValue,
    parent_name,
    reporting,
    resolve_home,
    resolve_project,
    resolve_region,
    status,
)
from vertexd.cli.custom_jobs import Endpoint, Format, Home, PollingInterval, Project, Region
from vertexd.cli.flag_values import parse_labels
from vertexd.cli.listing import list_jobs, show_listing
from vertexd.cli.logs import follow_logs
from vertexd.cli.output import FORMATS, LogPrinter, print_resource
from vertexd.cli.tuning_output import (
    ALGORITHMS,
    COLLECTION,
    follow_tuning_logs,
    load_tuning_config,
    print_table,
    trials_table,
    tuning_job_name,
)

app = typer.Typer(
    help="Manage hyperparameter tuning jobs (like `gcloud ai hp-tuning-jobs`).",
    no_args_is_help=True,
)

TuningJob = Annotated[
    str,
    typer.Argument(
        metavar="HP_TUNING_JOB",
        help=f"Job ID, or its full name projects/P/locations/L/{COLLECTION}/ID.",
    ),
]


def _format(value: str | None) -> str | None:
    if value is not None and value not in FORMATS:
        raise FlagSyntaxError("--format", f"Invalid choice: '{value}'. Choose yaml or json.")
    return value


def _describe_hint(job_id: str, region: str, endpoint: str | None, home: Path | None) -> str:
    flags = f" --endpoint={endpoint}" if endpoint else ""
    flags += f" --home={home}" if home else ""
    return f"  $ vertexd hp-tuning-jobs describe {job_id} --region={region}{flags}"


@app.command()
def create(
    config: Annotated[
        Path | None,
        typer.Option(help="YAML file with a HyperparameterTuningJob (studySpec, trialJobSpec)."),
    ] = None,
    display_name: Annotated[
        str | None, typer.Option(help="Display name of the hyperparameter tuning job.")
    ] = None,
    max_trial_count: Annotated[
        int | None, typer.Option(min=1, help="Desired total number of trials (default: 1).")
    ] = None,
    parallel_trial_count: Annotated[
        int | None, typer.Option(min=1, help="Trials to run in parallel (default: 1).")
    ] = None,
    algorithm: Annotated[
        str | None,
        typer.Option(help="algorithm-unspecified (Bayesian), grid-search or random-search."),
    ] = None,
    labels: Annotated[
        list[str] | None, typer.Option(metavar="KEY=VALUE", help="Labels of the job.")
    ] = None,
    network: Annotated[str | None, typer.Option(help="Network of the trials.")] = None,
    service_account: Annotated[str | None, typer.Option(help="Service account.")] = None,
    enable_web_access: Annotated[
        bool, typer.Option("--enable-web-access", help="Set trialJobSpec.enableWebAccess.")
    ] = False,
    enable_dashboard_access: Annotated[
        bool,
        typer.Option("--enable-dashboard-access", help="Set trialJobSpec.enableDashboardAccess."),
    ] = False,
    output_format: Format = None,
    region: Region = None,
    project: Project = None,
    endpoint: Endpoint = None,
    home: Home = None,
) -> None:
    """Create a hyperparameter tuning job; flags override the --config file."""
    with reporting("hp-tuning-jobs.create"):
        if config is None:
            raise FlagSyntaxError("--config", "Must be specified.")
        if not display_name:
            raise FlagSyntaxError("--display-name", "Must be specified.")
        if algorithm is not None and algorithm not in ALGORITHMS:
            choices = ", ".join(ALGORITHMS)
            raise FlagSyntaxError("--algorithm", f"Invalid choice: '{algorithm}' ({choices}).")
        fmt = _format(output_format)
        job = load_tuning_config(config)
        job["displayName"] = display_name
        # gcloud: a flag overrides the file; the file's count stays when the flag is not given.
        job["maxTrialCount"] = max_trial_count or job.get("maxTrialCount") or 1
        job["parallelTrialCount"] = parallel_trial_count or job.get("parallelTrialCount") or 1
        if algorithm is not None and isinstance(job.get("studySpec"), dict):
            job["studySpec"]["algorithm"] = ALGORITHMS[algorithm]
        _override_trial_spec(
            job, network, service_account, enable_web_access, enable_dashboard_access
        )
        if labels:
            job["labels"] = parse_labels(labels)
        resolved_region = resolve_region(region)
        parent = parent_name(resolve_project(project), resolved_region)
        created = connect(endpoint, resolve_home(home)).post(f"/v1/{parent}/{COLLECTION}", job)
        if fmt:
            print_resource(created, fmt)
        job_id = created["name"].rsplit("/", 1)[-1]
        status(
            f"Hyperparameter tuning job [{job_id}] submitted successfully.\n\n"
            "Your job is still active. You may view the status of your job with the command\n\n"
            f"{_describe_hint(job_id, resolved_region, endpoint, home)}\n\n"
            f"Job State: {created.get('state')}"
        )


def _override_trial_spec(
    job: dict[str, Any],
    network: str | None,
    service_account: str | None,
    web_access: bool,
    dashboard_access: bool,
) -> None:
    spec = job.get("trialJobSpec")
    if not isinstance(spec, dict):
        return
    overrides = {
        "network": network,
        "serviceAccount": service_account,
        "enableWebAccess": web_access or None,
        "enableDashboardAccess": dashboard_access or None,
    }
    spec.update({key: value for key, value in overrides.items() if value is not None})


@app.command()
def describe(
    hp_tuning_job: TuningJob,
    output_format: Format = None,
    region: Region = None,
    project: Project = None,
    endpoint: Endpoint = None,
    home: Home = None,
) -> None:
    """Show a hyperparameter tuning job, then a table of its trials, best first.

    With --format, the whole resource (trials included) in that format instead.
    """
    with reporting("hp-tuning-jobs.describe"):
        fmt = _format(output_format)
        name = tuning_job_name(hp_tuning_job, resolve_project(project), resolve_region(region))
        job = connect(endpoint, resolve_home(home)).get(f"/v1/{name}")
        if fmt:
            print_resource(job, fmt)
            return
        print_resource({k: v for k, v in job.items() if k != "trials"}, "yaml")
        if job.get("trials"):
            print(f"\nTrials ({len(job['trials'])}, best first):")
            print_table(trials_table(job))


@app.command("list")
def list_command(
    filter_: Annotated[
        str | None, typer.Option("--filter", help="API filter, e.g. state=JOB_STATE_SUCCEEDED.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many jobs.")] = None,
    page_size: Annotated[int | None, typer.Option(min=1, help="Jobs fetched per request.")] = None,
    sort_by: Annotated[
        str | None, typer.Option(help="Comma-separated fields to sort by; ~FIELD descending.")
    ] = None,
    uri: Annotated[bool, typer.Option("--uri", help="Print only the jobs' URIs.")] = False,
    output_format: Format = None,
    region: Region = None,
    project: Project = None,
    endpoint: Endpoint = None,
    home: Home = None,
) -> None:
    """List hyperparameter tuning jobs."""
    with reporting("hp-tuning-jobs.list"):
        fmt = _format(output_format)
        client = connect(endpoint, resolve_home(home))
        parent = parent_name(resolve_project(project), resolve_region(region))
        jobs = list_jobs(client, parent, filter_, limit, page_size, sort_by, COLLECTION)
        show_listing(client, jobs, fmt, uri)


@app.command()
def cancel(
    hp_tuning_job: TuningJob,
    region: Region = None,
    project: Project = None,
    endpoint: Endpoint = None,
    home: Home = None,
) -> None:
    """Cancel a hyperparameter tuning job and every trial it runs."""
    with reporting("hp-tuning-jobs.cancel"):
        resolved_region = resolve_region(region)
        name = tuning_job_name(hp_tuning_job, resolve_project(project), resolved_region)
        connect(endpoint, resolve_home(home)).post(f"/v1/{name}:cancel")
        job_id = name.rsplit("/", 1)[-1]
        status(
            f"Request to cancel hyperparameter tuning job [{job_id}] has been sent\n\n"
            "You may view the status of your job with the command\n\n"
            f"{_describe_hint(job_id, resolved_region, endpoint, home)}\n"
        )


@app.command("stream-logs")
def stream_logs_command(
    hp_tuning_job: TuningJob,
    trial_id: Annotated[
        str | None, typer.Option(help="Only this trial's logs (its CustomJob's).")
    ] = None,
    task_name: Annotated[
        str | None, typer.Option(help="Only this task's logs, e.g. workerpool0-0.")
    ] = None,
    polling_interval: PollingInterval = 1.0,
    allow_multiline_logs: Annotated[
        bool, typer.Option("--allow-multiline-logs", help="Print a multi-line message as one.")
    ] = False,
    region: Region = None,
    project: Project = None,
    endpoint: Endpoint = None,
    home: Home = None,
) -> None:
    """Print the logs of a tuning job's trials as they come, until the job ends."""
    with reporting("hp-tuning-jobs.stream-logs"):
        name = tuning_job_name(hp_tuning_job, resolve_project(project), resolve_region(region))
        client = connect(endpoint, resolve_home(home))
        job = client.get(f"/v1/{name}")
        printer = LogPrinter(allow_multiline_logs)
        if trial_id is None:
            follow_tuning_logs(client, name, printer, task_name, polling_interval)
            return
        trial = next((t for t in job.get("trials") or [] if t.get("id") == trial_id), None)
        if trial is None:
            raise InvalidFlagValue("--trial-id", f"the job has no trial [{trial_id}] (yet).")
        follow_logs(client, trial["customJob"], printer, task_name, polling_interval)
