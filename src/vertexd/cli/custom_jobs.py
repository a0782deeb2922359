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
from vertexd.cli.job_commands import JobKind, add_job_commands
from vertexd.cli.job_spec import (
    build_custom_job,
    build_job_spec,
    load_config,
    validate_config_pools,
)
from vertexd.cli.logs import follow_logs, report_end
from vertexd.cli.options import (
    Endpoint,
    Format,
    Home,
    KmsFlags,
    KmsKey,
    KmsKeyName,
    KmsKeyring,
    KmsLocation,
    KmsProject,
    PollingInterval,
    Project,
    Region,
    checked_format,
    encryption_spec,
)
from vertexd.cli.output import LogPrinter, print_resource
from vertexd.cli.packaging import stage_local_package
from vertexd.cli.worker_pool_flags import (
    build_worker_pool_specs,
    parse_worker_pool_flags,
    validate_worker_pool_flags,
)

app = typer.Typer(help="Manage custom jobs (like `gcloud ai custom-jobs`).", no_args_is_help=True)


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
    network: Annotated[
        str | None, typer.Option(help="jobSpec.network (stored; replicas use this host's).")
    ] = None,
    service_account: Annotated[
        str | None,
        typer.Option(help="jobSpec.serviceAccount (stored; replicas run as vertexd's user)."),
    ] = None,
    persistent_resource_id: Annotated[
        str | None,
        typer.Option(help="jobSpec.persistentResourceId (stored; jobs run on this host)."),
    ] = None,
    enable_web_access: Annotated[
        bool, typer.Option("--enable-web-access", help="Set jobSpec.enableWebAccess.")
    ] = False,
    enable_dashboard_access: Annotated[
        bool, typer.Option("--enable-dashboard-access", help="Set jobSpec.enableDashboardAccess.")
    ] = False,
    kms_key_name: KmsKeyName = None,
    kms_key: KmsKey = None,
    kms_keyring: KmsKeyring = None,
    kms_location: KmsLocation = None,
    kms_project: KmsProject = None,
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
    script=PATH (a .py file runs with Python, any other with bash; first pool only; DIR is
    built into a package that every pool runs; also requirements=A;B and
    extra-packages=X.tar.gz;Y.whl).

    An empty --worker-pool-spec= keeps a pool's place. --config takes a YAML CustomJobSpec.
    """
    with reporting("custom-jobs.create"):
        if not display_name:
            raise FlagSyntaxError("--display-name", "Must be specified.")
        if not worker_pool_spec and config is None:
            raise CliError(
                "At least one of (--config | --worker-pool-spec) must be specified.", exit_code=2
            )
        fmt = checked_format(output_format)
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
        kms = KmsFlags(kms_key_name, kms_key, kms_keyring, kms_location, kms_project)
        resolved_project = resolve_project(project)
        encryption = encryption_spec(kms, resolved_project)
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
            persistentResourceId=persistent_resource_id,
            enableWebAccess=enable_web_access or None,
            enableDashboardAccess=enable_dashboard_access or None,
        )
        resolved_region = resolve_region(region)
        parent = parent_name(resolved_project, resolved_region)
        body = build_custom_job(display_name, spec, job_labels, encryption)
        job = client.post(f"/v1/{parent}/customJobs", body)
        if fmt:
            print_resource(job, fmt)
        if not stream_logs:
            status(_submitted_message(job["name"], resolved_region, endpoint, home))
            return
        status(f"CustomJob [{job['name']}] is submitted successfully.")
        _follow_to_the_end(client, job["name"], polling_interval)


def _submitted_message(name: str, region: str, endpoint: str | None, home: Path | None) -> str:
    return (
        f"CustomJob [{name}] is submitted successfully.\n\n"
        "Your job is still active. You may view the status of your job with the command\n\n"
        f"{KIND.hint('describe', name, region, endpoint, home)}\n\n"
        "or continue streaming the logs with the command\n\n"
        f"{KIND.hint('stream-logs', name, region, endpoint, home)}"
    )


def _follow_to_the_end(client: ApiClient, name: str, polling_interval: float) -> None:
    """Print the job's logs until it ends; fail unless it succeeded."""
    follow_logs(client, name, LogPrinter(), None, polling_interval)
    error = report_end(client.get(f"/v1/{name}"))
    if error:
        raise CliError(error)


KIND = JobKind(
    group="custom-jobs",
    collection="customJobs",
    metavar="CUSTOM_JOB",
    plural="custom jobs",
    job_name=custom_job_name,
    cancel_sent="Request to cancel CustomJob [{job}] has been sent.",
    describe_help="Show a custom job.",
    cancel_help="Cancel a custom job; a job that has already ended stays as it is.",
    stream_logs_help="Print a custom job's logs as they come, until the job ends.",
)
add_job_commands(app, KIND)
