"""HyperparameterTuningJob create/get/list/cancel/delete, and the logs of the job and its
trials. The TuningController runs the jobs; this is the one path the API and CLI go through."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Protocol

from vertexd.core import joblog, states
from vertexd.core.errors import ApiError, FailedPrecondition, InvalidArgument, NotFound
from vertexd.resources.common import format_time, now
from vertexd.resources.metadata_rules import validate_metadata
from vertexd.resources.parsing import parse_model
from vertexd.resources.tuning_job import OUTPUT_ONLY_FIELDS, HyperparameterTuningJob
from vertexd.resources.tuning_job_rules import validate_tuning_job
from vertexd.resources.v1_fields import read_request
from vertexd.service.custom_jobs import CustomJobService, fill_defaults, new_job_id
from vertexd.service.operations import OperationService
from vertexd.store.jobs import JobStore, Record
from vertexd.store.listing import ListQuery
from vertexd.tuning.controller import TUNING_JOBS
from vertexd.tuning.space import SearchSpace


class TuningRunner(Protocol):
    """What runs the stored tuning jobs (the tuning controller in the engine process)."""

    def submit(self, name: str) -> None: ...

    def cancel(self, name: str) -> None: ...


class TuningJobService:
    def __init__(
        self,
        store: JobStore,
        controller: TuningRunner,
        custom_jobs: CustomJobService,
        operations: OperationService,
        jobs_dir: Path,
    ) -> None:
        self.store, self.controller, self.custom_jobs = store, controller, custom_jobs
        self.operations, self.jobs_dir = operations, jobs_dir

    def create(self, parent: str, request: Any) -> dict[str, Any]:
        body = read_request(request, "HyperparameterTuningJob", "hyperparameter_tuning_job")
        job = parse_model(HyperparameterTuningJob, body)
        validate_tuning_job(job)
        validate_metadata(job.display_name, job.labels)
        assert job.study_spec is not None and job.trial_job_spec is not None
        SearchSpace(job.study_spec)  # a grid too large to enumerate is refused here
        self.check_runnable(job)
        body = job.model_copy(update=dict.fromkeys(OUTPUT_ONLY_FIELDS)).to_wire()
        fill_defaults(body["trialJobSpec"])
        stamp = format_time(now())
        body.update(
            name=f"{parent}/{TUNING_JOBS}/{new_job_id()}",
            state="JOB_STATE_QUEUED",
            createTime=stamp,
            updateTime=stamp,
        )
        record = self.store.insert(TUNING_JOBS, parent, body)
        self.controller.submit(record.name)
        return self.store.get(record.name).body

    def check_runnable(self, job: HyperparameterTuningJob) -> None:
        """The CustomJob checks (executor images, package URIs, container engine), with the
        trial_job_spec field path."""
        assert job.trial_job_spec is not None
        try:
            self.custom_jobs.check_runnable(job.trial_job_spec)
        except ApiError as exc:
            message = exc.message.replace("job_spec.", "trial_job_spec.", 1)
            if isinstance(exc, InvalidArgument):
                raise InvalidArgument(message) from None
            raise type(exc)(message) from None

    def get(self, name: str) -> Record:
        record = self.store.get(name)
        if record.kind != TUNING_JOBS:
            raise NotFound(f'The HyperparameterTuningJob "{name}" was not found.')
        return record

    def list(self, parent: str, query: ListQuery) -> tuple[list[dict[str, Any]], str]:
        bodies, more = self.store.list_page(TUNING_JOBS, parent, query)
        return bodies, (query.next_page_token() if more else "")

    def cancel(self, name: str) -> None:
        record = self.get(name)
        if states.is_terminal(record.state):
            raise FailedPrecondition(
                f"Cannot cancel HyperparameterTuningJob {name}: it is already in state "
                f"{record.state}."
            )
        self.controller.cancel(name)

    def delete(self, name: str) -> dict[str, Any]:
        """Deletes the job and the CustomJobs of its trials (all ended with it)."""
        record = self.get(name)
        if not states.is_terminal(record.state):
            raise FailedPrecondition(
                f"HyperparameterTuningJob {name} is in state {record.state}; cancel it before "
                "deleting it."
            )
        for trial in record.body.get("trials", []):
            job = self.store.find(trial.get("customJob", ""))
            if job is not None and states.is_terminal(job.state):
                self.store.delete(job.name)
                shutil.rmtree(self.jobs_dir / job.id, ignore_errors=True)
        self.store.delete(name)
        shutil.rmtree(self.jobs_dir / record.id, ignore_errors=True)
        return self.operations.finished_delete(name)

    def read_logs(self, name: str, offset: int, task_name: str | None) -> dict[str, Any]:
        """The job's own log: vertexd's lines about its trials (a vertexd extension)."""
        record = self.get(name)
        path = joblog.job_log_path(self.jobs_dir, record.id)
        entries, next_offset = joblog.read_entries(path, offset, task_name)
        size = path.stat().st_size if path.exists() else 0
        done = states.is_terminal(record.state) and next_offset >= size
        return {"entries": entries, "nextOffset": str(next_offset), "done": done}
