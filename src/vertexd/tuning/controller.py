"""The tuning controller: one task drives every active tuning job, one step at a time.

A step runs in a worker thread (Optuna's samplers may think for a while; the API must not
wait for them) and is the only writer of tuning jobs. It wakes when a trial's CustomJob
ends, when a job is created or cancelled, and every `poll_seconds` to read running trials'
metric files. At start every unfinished tuning job is reloaded from the store, after the
scheduler has reattached the trials' CustomJobs, so a restart (even `kill -9`) loses no
tuning job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from vertexd.core import states
from vertexd.core.codes import Code
from vertexd.resources.common import new_job_id
from vertexd.store.jobs import JobStore
from vertexd.tuning.run import Deps, TuningRun
from vertexd.tuning.trial_jobs import TrialJobs
from vertexd.tuning.trials import RUNNING_STATES

log = logging.getLogger(__name__)

TUNING_JOBS = "hyperparameterTuningJobs"
POLL_SECONDS = 0.2


class TuningController:
    def __init__(
        self,
        store: JobStore,
        jobs: TrialJobs,
        jobs_dir: Path,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.store, self.jobs = store, jobs
        self.poll = poll_seconds
        self.deps = Deps(store, jobs_dir, jobs, new_job_id)
        self._runs: dict[str, TuningRun] = {}  # touched by steps only
        self._to_load: list[str] = []  # appended from any thread, taken by the loop
        self._to_cancel: list[str] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        jobs.on_end(self._wake.set)

    async def start(self) -> None:
        """Reload unfinished tuning jobs; call after the scheduler has started."""
        self._loop = asyncio.get_running_loop()
        unfinished = [states.QUEUED, states.PENDING, states.RUNNING, states.CANCELLING]
        records = await asyncio.to_thread(self.store.in_states, unfinished, TUNING_JOBS)
        self._to_load += [r.name for r in records]
        self._task = asyncio.create_task(self._run_steps())

    async def shutdown(self) -> None:
        """Finish the step under way, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def submit(self, name: str) -> None:
        """A tuning job was stored: start it (any thread)."""
        self._to_load.append(name)
        self._nudge()

    def cancel(self, name: str) -> None:
        """Any thread."""
        self._to_cancel.append(name)
        self._nudge()

    def _nudge(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # -- the steps -------------------------------------------------------------------------------
    async def _run_steps(self) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll)
            except TimeoutError:
                pass
            self._wake.clear()
            loads, self._to_load = self._to_load, []
            cancels, self._to_cancel = self._to_cancel, []
            try:
                await asyncio.to_thread(self._step, loads, cancels)
            except Exception:
                log.exception("tuning step failed")

    def _step(self, loads: list[str], cancels: list[str]) -> None:
        for name in loads:
            if name not in self._runs:
                self._load(name)
        for name in cancels:
            run = self._runs.get(name) or self._load(name)
            if run is not None:
                self._guarded(run, run.cancel)
        for name, run in list(self._runs.items()):
            if not run.done:
                self._guarded(run, run.step)
            if run.done:
                self._runs.pop(name, None)

    def _load(self, name: str) -> TuningRun | None:
        record = self.store.get(name)
        if states.is_terminal(record.state):
            return None
        try:
            run = TuningRun(record, self.deps)
        except Exception as exc:  # a job we cannot even load must end, not hang RUNNING
            log.exception("could not load tuning job %s", name)
            self.store.mark_failed(name, Code.INTERNAL, f"Internal error: {exc}")
            return None
        self._runs[name] = run
        return run

    def _guarded(self, run: TuningRun, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:  # a bug in one job fails that job, never the controller
            log.exception("tuning job %s failed", run.name)
            self.store.mark_failed(run.name, Code.INTERNAL, f"Internal error: {exc}")
            run.done = True
            for trial in self.store.get(run.name).body.get("trials", []):
                if trial.get("state") in RUNNING_STATES:
                    self.jobs.stop(trial["customJob"])
