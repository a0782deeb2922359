"""describe, list, cancel and stream-logs: the commands every kind of job has, written once.

A JobKind says what differs from one command group to another (`custom-jobs`,
`hp-tuning-jobs`): names, messages, how describe prints the job and how stream-logs follows
it. `add_job_commands` registers the four commands of a kind on its group. Each command is a
body that declares only its own flags; `_command` adds the JOB argument and the flags they
all share (--region, --project, --endpoint, --home), and reports failures as gcloud does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from vertexd.cli.client import ApiClient, connect
from vertexd.cli.common import (
    parent_name,
    reporting,
    resolve_home,
    resolve_project,
    resolve_region,
    status,
)
from vertexd.cli.listing import list_jobs, show_listing
from vertexd.cli.logs import follow_logs
from vertexd.cli.options import (
    Endpoint,
    Format,
    Home,
    PollingInterval,
    Project,
    Region,
    checked_format,
    connection_flags,
)
from vertexd.cli.output import LogPrinter, print_resource

ListFilter = Annotated[
    str | None, typer.Option("--filter", help="API filter, e.g. state=JOB_STATE_SUCCEEDED.")
]
Limit = Annotated[int | None, typer.Option(min=1, help="Show at most this many jobs.")]
PageSize = Annotated[int | None, typer.Option(min=1, help="Jobs fetched per request.")]
SortBy = Annotated[
    str | None,
    typer.Option(help="Comma-separated fields to sort by; ~FIELD sorts descending."),
]
Uri = Annotated[bool, typer.Option("--uri", help="Print only the jobs' URIs.")]
Flatten = Annotated[
    str | None,
    typer.Option(
        "--flatten",
        help="Comma-separated list keys: one record per item of each, e.g. "
        "jobSpec.workerPoolSpecs.",
    ),
]
TaskName = Annotated[str | None, typer.Option(help="Only this task's logs, e.g. workerpool0-0.")]
AllowMultilineLogs = Annotated[
    bool,
    typer.Option("--allow-multiline-logs", help="Print a multi-line message as one record."),
]


@dataclass(frozen=True)
class LogStream:
    """What stream-logs hands its kind's `follow`: the job as it is now, and the shared flags."""

    client: ApiClient
    name: str
    job: dict[str, Any]
    printer: LogPrinter
    task_name: str | None
    polling_interval: float


def print_job(job: dict[str, Any], fmt: str | None) -> None:
    """describe's output unless a kind says otherwise: the resource, YAML by default."""
    print_resource(job, fmt or "yaml")


def follow_job_logs(stream: LogStream) -> None:
    """stream-logs unless a kind says otherwise: the job's own log, until the job ends."""
    follow_logs(
        stream.client, stream.name, stream.printer, stream.task_name, stream.polling_interval
    )


@dataclass(frozen=True)
class JobKind:
    """A command group's kind of job: what its describe/list/cancel/stream-logs say and do."""

    group: str  # the command group, e.g. "custom-jobs"
    collection: str  # the REST collection, e.g. "customJobs"
    metavar: str  # the job argument, e.g. "CUSTOM_JOB"
    plural: str  # what `list` lists, e.g. "custom jobs"
    job_name: Callable[[str, str, str], str]  # (ID or name, project, region) -> full name
    cancel_sent: str  # what cancel says first; {job} is the job as messages name it
    describe_help: str
    cancel_help: str
    stream_logs_help: str
    # Messages name the job by its ID and hints add --region (gcloud's hp-tuning-jobs), or
    # they name it by its full name (gcloud's custom-jobs).
    by_id: bool = False
    show: Callable[[dict[str, Any], str | None], None] = print_job  # describe: (job, --format)
    follow: Callable[..., None] = follow_job_logs  # stream-logs: (LogStream, **log_filters)
    # stream-logs' own flags, right after the job argument: parameter name -> Annotated type;
    # each defaults to None and reaches `follow` as a keyword.
    log_filters: Mapping[str, Any] = field(default_factory=dict)

    def job_label(self, name: str) -> str:
        """The job as this group's messages name it."""
        return name.rsplit("/", 1)[-1] if self.by_id else name

    def hint(
        self, command: str, name: str, region: str, endpoint: str | None, home: Path | None
    ) -> str:
        """`  $ vertexd GROUP COMMAND JOB ...`: the command a message suggests to run next."""
        region_flag = f" --region={region}" if self.by_id else ""
        flags = connection_flags(endpoint, home)
        return f"  $ vertexd {self.group} {command} {self.job_label(name)}{region_flag}{flags}"


def add_job_commands(app: typer.Typer, kind: JobKind) -> None:
    """Register describe, list, cancel and stream-logs of `kind` on its group's `app`."""
    job = _job_argument(kind)
    log_flags = [job, *_flags(kind.log_filters)]
    app.command("describe", help=kind.describe_help)(_command(kind, "describe", _describe, [job]))
    app.command("list", help=f"List {kind.plural}.")(_command(kind, "list", _list, []))
    app.command("cancel", help=kind.cancel_help)(_command(kind, "cancel", _cancel, [job]))
    stream_logs = _command(kind, "stream-logs", _stream_logs, log_flags)
    app.command("stream-logs", help=kind.stream_logs_help)(stream_logs)


@dataclass(frozen=True)
class Call:
    """One run of a job command: its kind, and what the JOB argument and shared flags say."""

    kind: JobKind
    job: str  # the JOB argument as given; empty for list
    project: str
    region: str
    endpoint: str | None
    home: Path | None

    def job_name(self) -> str:
        return self.kind.job_name(self.job, self.project, self.region)

    def client(self) -> ApiClient:
        return connect(self.endpoint, resolve_home(self.home))


def _describe(call: Call, output_format: Format = None) -> None:
    fmt = checked_format(output_format)
    name = call.job_name()
    client = call.client()
    call.kind.show(client.get(f"/v1/{name}"), fmt)
    if call.kind.collection == "customJobs":
        say_devices(client, name)


def say_devices(client: ApiClient, name: str) -> None:
    """On stderr (stdout is the resource, as gcloud prints it): the GPUs each replica holds."""
    for replica in client.get("/console/api/devices", {"name": name}).get("replicas", []):
        held = ", ".join(
            f"GPU {d['index']} {d['id']} ({d['model']})" if "model" in d else f"GPU {d['id']}"
            for d in replica["devices"]
        )
        status(f"{replica['taskName']} holds {held}.")


def _list(
    call: Call,
    filter_: ListFilter = None,
    limit: Limit = None,
    page_size: PageSize = None,
    sort_by: SortBy = None,
    uri: Uri = False,
    flatten: Flatten = None,
    output_format: Format = None,
) -> None:
    fmt = checked_format(output_format)
    client = call.client()
    parent = parent_name(call.project, call.region)
    collection = call.kind.collection
    jobs = list_jobs(client, parent, collection, filter_, limit, page_size, sort_by, flatten)
    show_listing(client, jobs, fmt, uri)


def _cancel(call: Call) -> None:
    name, kind = call.job_name(), call.kind
    call.client().post(f"/v1/{name}:cancel")
    status(
        f"{kind.cancel_sent.format(job=kind.job_label(name))}\n\n"
        "You may view the status of your job with the command\n\n"
        f"{kind.hint('describe', name, call.region, call.endpoint, call.home)}\n"
    )


def _stream_logs(
    call: Call,
    task_name: TaskName = None,
    polling_interval: PollingInterval = 1.0,
    allow_multiline_logs: AllowMultilineLogs = False,
    **log_filters: Any,
) -> None:
    name = call.job_name()
    client = call.client()
    job = client.get(f"/v1/{name}")  # a job that does not exist is an error, not an empty stream
    printer = LogPrinter(allow_multiline_logs)
    stream = LogStream(client, name, job, printer, task_name, polling_interval)
    call.kind.follow(stream, **log_filters)


def _command(
    kind: JobKind, verb: str, body: Callable[..., None], leading: list[inspect.Parameter]
) -> Callable[..., None]:
    """`body(call, **its flags)` as the command `verb` of `kind`'s group. Typer reads its
    parameters from the signature: `leading` first, then the body's own, then SHARED_FLAGS."""

    def command(**flags: Any) -> None:
        with reporting(f"{kind.group}.{verb}"):
            call = Call(
                kind,
                flags.pop("job", ""),
                resolve_project(flags.pop("project")),
                resolve_region(flags.pop("region")),
                flags.pop("endpoint"),
                flags.pop("home"),
            )
            body(call, **flags)

    _, *own = inspect.signature(body, eval_str=True).parameters.values()
    flags = [parameter for parameter in own if parameter.kind is not parameter.VAR_KEYWORD]
    signature = inspect.Signature([*leading, *flags, *SHARED_FLAGS])
    command.__signature__ = signature  # type: ignore[attr-defined]
    return command


def _flags(annotations: Mapping[str, Any]) -> list[inspect.Parameter]:
    """Flags named like the keys, of the (Annotated) types the values are, None by default."""
    return [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=a)
        for name, a in annotations.items()
    ]


def _job_argument(kind: JobKind) -> inspect.Parameter:
    help_ = f"Job ID, or its full name projects/P/locations/L/{kind.collection}/ID."
    annotation = Annotated[str, typer.Argument(metavar=kind.metavar, help=help_)]
    return inspect.Parameter("job", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation)


SHARED_FLAGS = _flags({"region": Region, "project": Project, "endpoint": Endpoint, "home": Home})
