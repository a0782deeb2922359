"""Tuning's trials as CustomJobs: the `tuning.trial_jobs.TrialJobs` protocol, over the store
and the scheduler (in the engine process, where both run)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vertexd.resources.common import format_time, now
from vertexd.scheduler.scheduler import CUSTOM_JOBS, Scheduler
from vertexd.store.jobs import JobStore
from vertexd.store.records import Record, TrialLink


class TrialJobs:
    def __init__(self, store: JobStore, scheduler: Scheduler) -> None:
        self.store, self.scheduler = store, scheduler

    def start(self, parent: str, job_id: str, custom_job: dict[str, Any], trial: TrialLink) -> None:
        """`custom_job` (wire form) comes from the tuning job's validated trialJobSpec;
        `trial` says which trial it runs (the launch reads it)."""
        stamp = format_time(now())
        body = {
            **custom_job,
            "name": f"{parent}/customJobs/{job_id}",
            "state": "JOB_STATE_QUEUED",
            "createTime": stamp,
            "updateTime": stamp,
        }
        self.store.insert(CUSTOM_JOBS, parent, body, trial)
        self.scheduler.wake(created=True)

    def stop(self, job_name: str) -> None:
        self.scheduler.cancel(job_name)

    def on_end(self, callback: Callable[[], None]) -> None:
        def when_a_trial_ends(record: Record) -> None:
            if record.trial is not None:
                callback()

        self.scheduler.add_listener(when_a_trial_ends)
