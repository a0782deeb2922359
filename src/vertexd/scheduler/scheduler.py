"""The scheduler: admission after every state change, one supervisor per admitted job, and
the reconciler that runs at start before the API takes any request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from vertexd.backends.base import Backend
from vertexd.launch.plan import Resources
from vertexd.launch.prepare import Preparer, job_resources
from vertexd.resources.custom_job import CustomJobSpec
from vertexd.scheduler import states
from vertexd.scheduler.admission import admit
from vertexd.scheduler.supervisor import CODE_INTERNAL, Supervisor
from vertexd.store import logs
from vertexd.store.jobs import JobStore, Record

log = logging.getLogger(__name__)

CUSTOM_JOBS = "customJobs"


def demand(record: Record) -> Resources:
    return job_resources(CustomJobSpec.model_validate(record.body.get("jobSpec") or {}))


class Scheduler:
    def __init__(
        self,
        store: JobStore,
        backend: Backend,
        preparer: Preparer,
        capacity: Resources,
        grace_seconds: float,
        poll_seconds: float,
    ) -> None:
        self.store, self.backend, self.preparer = store, backend, preparer
        self.capacity = capacity
        self.grace, self.poll = grace_seconds, poll_seconds
        self._supervisors: dict[str, tuple[Supervisor, asyncio.Task[None], Resources]] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[str], None]] = []

    def add_listener(self, on_job_end: Callable[[str], None]) -> None:
        """Called with a job's name whenever its supervisor ends (the job reached a terminal
        state, or the server is shutting down). Runs on the event loop: keep it short."""
        self._listeners.append(on_job_end)

    async def start(self) -> None:
        self._reconcile()
        self._loop_task = asyncio.create_task(self._admission_loop())
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    def cancel(self, name: str) -> None:
        """Ask for a job to stop; its supervisor (or, if queued, the scheduler) records it."""
        if name in self._supervisors:
            self._supervisors[name][0].cancel()
        elif states.short(self.store.get(name).state) == states.QUEUED:
            self.store.mark_cancelled(name)

    async def shutdown(self) -> None:
        if self._loop_task:
            self._loop_task.cancel()
        tasks = []
        for supervisor, task, _ in list(self._supervisors.values()):
            supervisor.shutdown()
            tasks.append(task)
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- admission -----------------------------------------------------------------------------
    async def _admission_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                self._admit()
            except Exception:
                log.exception("admission failed")

    def _admit(self) -> None:
        queued = [(r, demand(r)) for r in self.store.in_states([states.QUEUED], CUSTOM_JOBS)]
        in_use = Resources()
        for _, _, need in self._supervisors.values():
            in_use = in_use + need
        by_name = {record.name: (record, need) for record, need in queued}
        chosen = admit(
            [(r.name, need) for r, need in queued], in_use, self.capacity, len(self._supervisors)
        )
        for name in chosen:
            record, need = by_name[name]
            if not need.fits_in(self.capacity):
                self._warn_oversized(record, need)
            if self.store.mark_pending(name) is not None:
                self._supervise(self.store.get(name), need)

    def _warn_oversized(self, record: Record, need: Resources) -> None:
        logs.append_service_line(
            self.preparer.log_path(record.id),
            f"WARNING: the job asks for {need.describe()}; this host has "
            f"{self.capacity.describe()}. It runs alone, with less than it asked for.",
        )

    def _supervise(self, record: Record, need: Resources) -> None:
        supervisor = Supervisor(
            record, self.store, self.backend, self.preparer, self.grace, self.poll
        )
        task = asyncio.create_task(supervisor.run())
        self._supervisors[record.name] = (supervisor, task, need)
        task.add_done_callback(lambda _: self._finished(record.name))

    def _finished(self, name: str) -> None:
        self._supervisors.pop(name, None)
        for listener in self._listeners:
            try:
                listener(name)
            except Exception:
                log.exception("job-end listener failed for %s", name)
        self.wake()

    # -- recovery at start ---------------------------------------------------------------------
    def _reconcile(self) -> None:
        """Account for every job an earlier server left unfinished, before new work."""
        active = [states.PENDING, states.RUNNING, states.CANCELLING]
        for record in self.store.in_states(active, CUSTOM_JOBS):
            if "handle" in (record.runtime or {}):
                self._supervise(record, demand(record))
            elif states.short(record.state) == states.PENDING:
                self.store.requeue(record.name)  # nothing of it had started
            else:
                self.store.mark_failed(
                    record.name,
                    CODE_INTERNAL,
                    "The vertexd server stopped before it recorded the job's replicas.",
                )
