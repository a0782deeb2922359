"""Tuning's trials as CustomJobs: the `tuning.trial_jobs.TrialJobs` protocol, over the
CustomJob service and the scheduler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vertexd.scheduler.scheduler import Scheduler
from vertexd.service.custom_jobs import CustomJobService
from vertexd.store.records import Record, TrialLink


class TrialJobs:
    def __init__(self, custom_jobs: CustomJobService, scheduler: Scheduler) -> None:
        self.custom_jobs, self.scheduler = custom_jobs, scheduler

    def start(self, parent: str, job_id: str, custom_job: dict[str, Any], trial: TrialLink) -> None:
        self.custom_jobs.create_trial(parent, job_id, custom_job, trial)

    def stop(self, job_name: str) -> None:
        self.scheduler.cancel(job_name)

    def on_end(self, callback: Callable[[], None]) -> None:
        def when_a_trial_ends(record: Record) -> None:
            if record.trial is not None:
                callback()

        self.scheduler.add_listener(when_a_trial_ends)
