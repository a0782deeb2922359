"""CustomJob create/get/list/cancel/delete: the one path the API, CLI and console share."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from vertexd.core import joblog, states
from vertexd.core.errors import FailedPrecondition, InvalidArgument, NotFound
from vertexd.launch import executors
from vertexd.resources.common import format_time, new_job_id, now
from vertexd.resources.custom_job import OUTPUT_ONLY_FIELDS, CustomJob, CustomJobSpec
from vertexd.resources.custom_job_rules import active_pools, unsupported_notes, validate_job_spec
from vertexd.resources.metadata_rules import validate_metadata
from vertexd.resources.parsing import parse_model
from vertexd.resources.v1_fields import read_request
from vertexd.scheduler.scheduler import CUSTOM_JOBS
from vertexd.service.host_fit import HostFacts, check_fits
from vertexd.service.operations import OperationService
from vertexd.storage import check_uri
from vertexd.store.jobs import JobStore
from vertexd.store.listing import ListQuery
from vertexd.store.records import Record

DEFAULT_DISK = {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100}


class JobRunner(Protocol):
    """What runs the stored jobs (the engine process, reached through engine/link.py)."""

    def wake(self) -> None:
        """A job was queued: look at the queue again."""
        ...

    def cancel(self, name: str) -> None:
        """Ask for a job to stop; its supervisor (or, still queued, the scheduler) records it."""
        ...


class CustomJobService:
    def __init__(
        self,
        store: JobStore,
        runner: JobRunner,
        operations: OperationService,
        jobs_dir: Path,
        host: HostFacts,
    ) -> None:
        self.store, self.runner, self.operations = store, runner, operations
        self.jobs_dir = jobs_dir
        self.host = host

    def create(self, parent: str, request: Any) -> dict[str, Any]:
        job = parse_model(CustomJob, read_request(request, "CustomJob", "custom_job"))
        if not job.display_name:
            raise InvalidArgument("is required.", "display_name")
        validate_metadata(job.display_name, job.labels)
        validate_job_spec(job.job_spec)
        assert job.job_spec is not None
        self.check_runnable(job.job_spec)
        body = job.model_copy(update=dict.fromkeys(OUTPUT_ONLY_FIELDS)).to_wire()
        fill_defaults(body["jobSpec"])
        stamp = format_time(now())
        job_id = new_job_id()
        body.update(
            name=f"{parent}/customJobs/{job_id}",
            state="JOB_STATE_QUEUED",
            createTime=stamp,
            updateTime=stamp,
        )
        record = self.store.insert(CUSTOM_JOBS, parent, body)
        for note in unsupported_notes(body["jobSpec"]):
            joblog.append_service_line(self.log_path(job_id), f"WARNING: {note}")
        self.runner.wake()
        return record.body

    def check_runnable(self, spec: CustomJobSpec) -> None:
        check_fits(self.host, spec)
        for index, pool in active_pools(spec):
            package = pool.python_package_spec
            if package is not None:
                path = f"job_spec.worker_pool_specs[{index}]"
                image = package.executor_image_uri or ""
                _check_package(image, package.package_uris, path, self.host.has_image)

    def get(self, name: str) -> Record:
        record = self.store.get(name)
        if record.kind != CUSTOM_JOBS:
            raise NotFound(f'The CustomJob "{name}" was not found.')
        return record

    def list(self, parent: str, query: ListQuery) -> tuple[list[dict[str, Any]], str]:
        bodies, more = self.store.list_page(CUSTOM_JOBS, parent, query)
        return bodies, (query.next_page_token() if more else "")

    def cancel(self, name: str) -> None:
        record = self.get(name)
        if states.is_terminal(record.state):
            raise FailedPrecondition(
                f"Cannot cancel CustomJob {name}: it is already in state {record.state}."
            )
        self.runner.cancel(name)

    def delete(self, name: str) -> dict[str, Any]:
        record = self.get(name)
        if not states.is_terminal(record.state):
            raise FailedPrecondition(
                f"CustomJob {name} is in state {record.state}; cancel it before deleting it."
            )
        self.store.delete(name)
        shutil.rmtree(self.jobs_dir / record.id, ignore_errors=True)
        return self.operations.finished_delete(name)

    def log_path(self, job_id: str) -> Path:
        return joblog.job_log_path(self.jobs_dir, job_id)

    def read_logs(self, name: str, offset: int, task_name: str | None) -> dict[str, Any]:
        record = self.get(name)
        path = self.log_path(record.id)
        entries, next_offset = joblog.read_entries(path, offset, task_name)
        size = path.stat().st_size if path.exists() else 0
        done = states.is_terminal(record.state) and next_offset >= size
        return {"entries": entries, "nextOffset": str(next_offset), "done": done}


def _check_package(
    image: str, uris: list[str] | None, path: str, has_image: Callable[[str], bool] | None
) -> None:
    known = executors.lookup(image) is not None or (has_image is not None and has_image(image))
    if not known:
        raise InvalidArgument(
            executors.unknown_image_message(image), f"{path}.python_package_spec.executor_image_uri"
        )
    for index, uri in enumerate(uris or []):
        problem = check_uri(uri)
        if problem:
            raise InvalidArgument(problem, f"{path}.python_package_spec.package_uris[{index}]")


def fill_defaults(spec: dict[str, Any]) -> None:
    """What Vertex answers with when a field was left out."""
    for pool in spec.get("workerPoolSpecs", []):
        if pool:
            pool.setdefault("replicaCount", "1")
            pool.setdefault("diskSpec", dict(DEFAULT_DISK))
