"""`vertexd custom-jobs ...`: gcloud ai custom-jobs, against a vertexd server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vertexd.cli.client import ApiClient, connect
from vertexd.cli.common import (
    CliError,
    FlagSyntaxError,
    custom_job_name,
    parent_name,
    reporting,
    resolve_home,
    resolve_project,
    resolve_region,
    status,
    warn,
)
from vertexd.cli.flag_values import last_list_flag, merge_list_flag, parse_labels
from vertexd.cli.job_spec import (
    build_custom_job,
    build_job_spec,
    load_config,
    validate_config_pools,
)
from vertexd.cli.listing import list_jobs, show_listing
from vertexd.cli.logs import follow_logs, report_end
from vertexd.cli.output import FORMATS, LogPrinter, print_resource
from vertexd.cli.packaging import stage_local_package
from vertexd.cli.worker_pool_flags import (
    build_worker_pool_specs,
    parse_worker_pool_flags,
    validate_worker_pool_flags,
)

app = typer.Typer(help="Manage custom jobs (like `gcloud ai custom-jobs`).", no_args_is_help=True)

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
CustomJob = Annotated[
    str,
    typer.Argument(
        metavar="CUSTOM_JOB", help="Job ID, or its full name projects/P/locations/L/customJobs/ID."
    ),
]
Format = Annotated[str | None, typer.Option("--format", help="Output format: yaml or json.")]
PollingInterval = Annotated[
    float, typer.Option(help="Seconds between two fetches of new log lines.", min=0.0)
]


def _format(value: str | None, default: str | None) -> str | None:
    chosen = value or default
    if chosen is not None and chosen not in FORMATS:
        raise FlagSyntaxError("--format", f"Invalid choice: '{chosen}'. Choose yaml or json.")
    return chosen


def _submitted_message(name: str, hint_flags: str) -> str:
    return (
        f"CustomJob [{name}] is submitted successfully.\n\n"
        "Your job is still active. You may view the status of your job with the command\n\n"
        f"  $ vertexd custom-jobs describe {name}{hint_flags}\n\n"
        "or continue streaming the logs with the command\n\n"
        f"  $ vertexd custom-jobs stream-logs {name}{hint_flags}"
    )


def _hint_flags(endpoint: str | None, home: Path | None) -> str:
    flags = f" --endpoint={endpoint}" if endpoint else ""
    return flags + (f" --home={home}" if home else "")


@app.command()
def create(
    display_name: Annotated[
        str | None, typer.Option(help="Display name of the custom job to create.")
    ] = None,
    worker_pool_spec: Annotated[
        list[str] | None,
        typer.Option(
            metavar="WORKER_POOL_SPEC", help="A worker pool (repeat for more), see below."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="YAML file with a CustomJobSpec (camelCase); flags override it."),
    ] = None,
    python_package_uris: Annotated[
        list[str] | None,
        typer.Option(
            metavar="URI,...", help="Package URIs for the --worker-pool-spec Python pools."
        ),
    ] = None,
    args: Annotated[
        list[str] | None,
        typer.Option(metavar="ARG", help="Comma-separated arguments for every pool."),
    ] = None,
    command: Annotated[
        list[str] | None,
        typer.Option(metavar="COMMAND", help="Comma-separated command for container pools."),
    ] = None,
    labels: Annotated[
        list[str] | None, typer.Option(metavar="KEY=VALUE", help="Labels of the job.")
    ] = None,
    network: Annotated[str | None, typer.Option(help="Network of the job.")] = None,
    service_account: Annotated[str | None, typer.Option(help="Service account.")] = None,
    enable_web_access: Annotated[
        bool, typer.Option("--enable-web-access", help="Set jobSpec.enableWebAccess.")
    ] = False,
    enable_dashboard_access: Annotated[
        bool, typer.Option("--enable-dashboard-access", help="Set jobSpec.enableDashboardAccess.")
    ] = False,
    stream_logs: Annotated[
        bool,
        typer.Option(
            "--stream-logs", help="Follow the job's logs until it ends; fail unless it succeeds."
        ),
    ] = False,
    polling_interval: PollingInterval = 1.0,
    output_format: Format = None,
    region: Region = None,
    project: Project = None,
    endpoint: Endpoint = None,
    home: Home = None,
) -> None:
    """Create a new custom job; it runs as soon as resources allow.

    Each --worker-pool-spec is KEY=VALUE,... with machine-type=M (required), replica-count=N,
    accelerator-type=T, accelerator-count=C, and one of:

    * container-image-uri=IMAGE (with --command and --args);

    * executor-image-uri=IMAGE,python-module=MODULE (with --python-package-uris and --args);

    * local-package-path=DIR,executor-image-uri=IMAGE and python-module=MODULE or
    script=PATH.py (first pool only; DIR is built into a package that every pool runs;
    also requirements=A;B and extra-packages=X.tar.gz;Y.whl).

    An empty --worker-pool-spec= keeps a pool's place. --config takes a YAML CustomJobSpec.
    """
    with reporting("custom-jobs.create"):
        if not display_name:
            raise FlagSyntaxError("--display-name", "Must be specified.")
        if not worker_pool_spec and config is None:
            raise CliError(
                "At least one of (--config | --worker-pool-spec) must be specified.", exit_code=2
            )
        fmt = _format(output_format, None)
        base = load_config(config) if config is not None else None
        pool_flags = parse_worker_pool_flags(worker_pool_spec or [])
        if pool_flags:
            validate_worker_pool_flags(pool_flags)
        else:
            validate_config_pools(base or {})
        package_uris = last_list_flag(python_package_uris, "--python-package-uris")
        if package_uris and not pool_flags:
            warn("--python-package-uris applies to --worker-pool-spec pools only; ignored.")
        job_args = merge_list_flag(args, "--args")
        job_command = merge_list_flag(command, "--command")
        job_labels = parse_labels(labels)
        client = connect(endpoint, resolve_home(home))
        local_package = None
        if pool_flags and "local-package-path" in pool_flags[0]:
            staging = (client.server_home or resolve_home(home)) / "buckets"
            local_package = stage_local_package(pool_flags[0], staging)
        pools = build_worker_pool_specs(pool_flags, package_uris, local_package)
        spec = build_job_spec(
            base,
            pools,
            job_args,
            job_command,
            network=network,
            serviceAccount=service_account,
            enableWebAccess=enable_web_access or None,
            enableDashboardAccess=enable_dashboard_access or None,
        )
        parent = parent_name(resolve_project(project), resolve_region(region))
        job = client.post(
            f"/v1/{parent}/customJobs", build_custom_job(display_name, spec, job_labels)
        )
        if fmt:
            print_resource(job, fmt)
        if not stream_logs:
            status(_submitted_message(job["name"], _hint_flags(endpoint, home)))
            return
        status(f"CustomJob [{job['name']}] is submitted successfully.")
        _follow_to_the_end(client, job["name"], None, polling_interval, fail_unless_success=True)


def _follow_to_the_end(
    client: ApiClient,
    name: str,
    task_name: str | None,
    polling_interval: float,
    fail_unless_success: bool = False,
    allow_multiline: bool = False,
) -> None:
    follow_logs(client, name, LogPrinter(allow_multiline), task_name, polling_interval)
    if fail_unless_success:
        error = report_end(client.get(f"/v1/{name}"))
        if error:
            raise CliError(error)


@app.command()
def describe(
    custom_job: CustomJob,
    output_format: Format = None,
    region: Region = None,
    project: Project = None,
    endpoint: Endpoint = None,
    home: Home = None,
) -> None:
    """Show a custom job."""
    with reporting("custom-jobs.describe"):
        fmt = _format(output_format, "yaml") or "yaml"
        name = custom_job_name(custom_job, resolve_project(project), resolve_region(region))
        job = connect(endpoint, resolve_home(home)).get(f"/v1/{name}")
        print_resource(job, fmt)


@app.command("list")
def list_command(
    filter_: Annotated[
        str | None,
        typer.Option("--filter", help="API filter, e.g. state=JOB_STATE_SUCCEEDED."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many jobs.")] = None,
    page_size: Annotated[int | None, typer.Option(min=1, help="Jobs fetched per request.")] = None,
    sort_by: Annotated[
        str | None,
        typer.Option(help="Comma-separated fields to sort by; ~FIELD sorts descending."),
    ] = None,
    uri: Annotated[bool, typer.Option("--uri", help="Print only the jobs' URIs.")] = False,
    output_format: Format = None,
    region: Region = None,
    project: Project = None,
    endpoint: Endpoint = None,
    home: Home = None,
) -> None:
    """List custom jobs."""
    with reporting("custom-jobs.list"):
        fmt = _format(output_format, None)
        client = connect(endpoint, resolve_home(home))
        parent = parent_name(resolve_project(project), resolve_region(region))
        jobs = list_jobs(client, parent, filter_, limit, page_size, sort_by)
        show_listing(client, jobs, fmt, uri)


@app.command()
def cancel(
    custom_job: CustomJob,
    region: Region = None,
    project: Project = None,
    endpoint: Endpoint = None,
    home: Home = None,
) -> None:
    """Cancel a custom job; a job that has already ended stays as it is."""
    with reporting("custom-jobs.cancel"):
        name = custom_job_name(custom_job, resolve_project(project), resolve_region(region))
        connect(endpoint, resolve_home(home)).post(f"/v1/{name}:cancel")
        status(
            f"Request to cancel CustomJob [{name}] has been sent.\n\n"
            "You may view the status of your job with the command\n\n"
            f"  $ vertexd custom-jobs describe {name}{_hint_flags(endpoint, home)}\n"
        )


@app.command("stream-logs")
def stream_logs_command(
    custom_job: CustomJob,
    task_name: Annotated[
        str | None, typer.Option(help="Only this task's logs, e.g. workerpool0-0.")
    ] = None,
    polling_interval: PollingInterval = 1.0,
    allow_multiline_logs: Annotated[
        bool,
        typer.Option("--allow-multiline-logs", help="Print a multi-line message as one record."),
    ] = False,
    region: Region = None,
    project: Project = None,
    endpoint: Endpoint = None,
    home: Home = None,
) -> None:
    """Print a custom job's logs as they come, until the job ends."""
    with reporting("custom-jobs.stream-logs"):
        name = custom_job_name(custom_job, resolve_project(project), resolve_region(region))
        client = connect(endpoint, resolve_home(home))
        client.get(f"/v1/{name}")  # a job that does not exist is an error, not an empty stream
        _follow_to_the_end(
            client, name, task_name, polling_interval, allow_multiline=allow_multiline_logs
        )
