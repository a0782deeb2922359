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
from vertexd.cli.flag_values import parse_labels
from vertexd.cli.job_commands import JobKind, LogStream, add_job_commands
from vertexd.cli.logs import follow_logs
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
    Project,
    Region,
    checked_format,
    encryption_spec,
)
from vertexd.cli.output import print_resource
from vertexd.cli.tuning_output import (
    ALGORITHMS,
    COLLECTION,
    follow_tuning_logs,
    load_tuning_config,
    print_tuning_job,
    tuning_job_name,
)

app = typer.Typer(
    help="Manage hyperparameter tuning jobs (like `gcloud ai hp-tuning-jobs`).",
    no_args_is_help=True,
)


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
    kms_key_name: KmsKeyName = None,
    kms_key: KmsKey = None,
    kms_keyring: KmsKeyring = None,
    kms_location: KmsLocation = None,
    kms_project: KmsProject = None,
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
        fmt = checked_format(output_format)
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
        resolved_project = resolve_project(project)
        kms = KmsFlags(kms_key_name, kms_key, kms_keyring, kms_location, kms_project)
        encryption = encryption_spec(kms, resolved_project)
        if encryption:
            job["encryptionSpec"] = encryption
        resolved_region = resolve_region(region)
        parent = parent_name(resolved_project, resolved_region)
        created = connect(endpoint, resolve_home(home)).post(f"/v1/{parent}/{COLLECTION}", job)
        if fmt:
            print_resource(created, fmt)
        status(
            f"Hyperparameter tuning job [{KIND.job_label(created['name'])}] submitted "
            "successfully.\n\n"
            "Your job is still active. You may view the status of your job with the command\n\n"
            f"{KIND.hint('describe', created['name'], resolved_region, endpoint, home)}\n\n"
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


def _follow_tuning_job(stream: LogStream, trial_id: str | None) -> None:
    """The job's and all its trials' logs, or with --trial-id one trial's (its CustomJob's)."""
    if trial_id is None:
        follow_tuning_logs(
            stream.client, stream.name, stream.printer, stream.task_name, stream.polling_interval
        )
        return
    trials = stream.job.get("trials") or []
    trial = next((t for t in trials if t.get("id") == trial_id), None)
    if trial is None:
        raise InvalidFlagValue("--trial-id", f"the job has no trial [{trial_id}] (yet).")
    follow_logs(
        stream.client, trial["customJob"], stream.printer, stream.task_name, stream.polling_interval
    )


TrialId = Annotated[str | None, typer.Option(help="Only this trial's logs (its CustomJob's).")]
KIND = JobKind(
    group="hp-tuning-jobs",
    collection=COLLECTION,
    metavar="HP_TUNING_JOB",
    plural="hyperparameter tuning jobs",
    job_name=tuning_job_name,
    cancel_sent="Request to cancel hyperparameter tuning job [{job}] has been sent",
    describe_help="Show a hyperparameter tuning job, then a table of its trials, best first.\n\n"
    "With --format, the whole resource (trials included) in that format instead.",
    cancel_help="Cancel a hyperparameter tuning job and every trial it runs.",
    stream_logs_help="Print the logs of a tuning job's trials as they come, until the job ends.",
    by_id=True,
    show=print_tuning_job,
    follow=_follow_tuning_job,
    log_filters={"trial_id": TrialId},
)
add_job_commands(app, KIND)
