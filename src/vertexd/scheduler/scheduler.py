"""The scheduler: admission after every state change, one supervisor per admitted job, and
the reconciler that runs at start before the API takes any request.

Its coroutines run on the event loop and only decide; store, launch and backend calls run
in the scheduler's own worker threads (`call`), apart from the API's. `wake` and `cancel`
may be called from any thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

from vertexd.backends.base import Backend
from vertexd.core import joblog, states
from vertexd.core.codes import Code
from vertexd.launch.plan import Resources
from vertexd.launch.prepare import Preparer, job_resources, replica_gpus
from vertexd.resources.custom_job import CustomJobSpec
from vertexd.scheduler.admission import admit
from vertexd.scheduler.gpus import GpuPool, assignment_lines, fair_share
from vertexd.scheduler.supervisor import Supervisor, Timing
from vertexd.store.jobs import JobStore, Record

log = logging.getLogger(__name__)

CUSTOM_JOBS = "customJobs"
QUEUED = states.full_name("", states.QUEUED)  # a CustomJob's: JOB_STATE_QUEUED
# Store, launch and backend calls of every supervisor. Enough to wait on several builds,
# pulls or placements at once, few enough that threads ready to run rarely fight for the
# GIL: with 16, 500 jobs started at once cost the engine 525 futex calls a job and 15-30%
# more CPU than with 8 (benchmarks/throughput.py, room for all).
WORKER_THREADS = 8
# Queued jobs read at a time by admission: a short first page (admission mostly stops at the
# first job that does not fit, and runs after every job that ends), longer ones after it.
FIRST_QUEUE_PAGE, QUEUE_PAGE = 8, 100
T = TypeVar("T")


def demand(record: Record) -> Resources:
    return job_resources(CustomJobSpec.model_validate(record.body.get("jobSpec") or {}))


@dataclass
class _QueueRead:
    """What one admission pass read of the queue: each job's demand, and whether all."""

    seen: dict[str, Resources] = field(default_factory=dict)
    whole: bool = False
    records: dict[str, Record] = field(default_factory=dict)  # the jobs read in full


@dataclass
class _Supervised:
    supervisor: Supervisor
    task: asyncio.Task[None]
    need: Resources
    record: Record  # as it was when admitted (or reattached)


class Scheduler:
    def __init__(
        self,
        store: JobStore,
        backend: Backend,
        preparer: Preparer,
        capacity: Resources,
        timing: Timing,
        gpus: GpuPool | None = None,
    ) -> None:
        self.store, self.backend, self.preparer = store, backend, preparer
        self.capacity, self.timing = capacity, timing
        # The host's GPUs, handed out by id at admission (None: the backend assigns them).
        self.gpus = gpus if gpus is not None and len(gpus) else None
        self._threads = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="vertexd-jobs")
        self._supervised: dict[str, _Supervised] = {}
        self._demands: dict[str, Resources] = {}  # queued job -> its need (read by admission)
        # Queued job -> its record as admission read it for its need: admission moves it from
        # that record (one that is stale only makes the compare-and-set read the row).
        self._records: dict[str, Record] = {}
        self._cancel_asked: set[str] = set()  # queued jobs a cancel may have missed
        self._wake = asyncio.Event()
        # The last admission pass found that no queued job may start before one ends (the
        # head waits for CPUs or memory): a job created since, which queues behind it, cannot
        # start either, so its creation needs no pass. Any other news clears it.
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[Record], None]] = []

    def add_listener(self, on_job_end: Callable[[Record], None]) -> None:
        """Called with a job's record (as admitted) whenever its supervisor ends (the job
        reached a terminal state, or the server is shutting down). Runs on the event loop:
        keep it short and free of I/O."""
        self._listeners.append(on_job_end)

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call in the scheduler's worker threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, partial(function, *args, **kwargs))

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for record in await self.call(self._reconcile):
            self._supervise(record, demand(record))
        self._loop_task = asyncio.create_task(self._admission_loop())
        self.wake()

    def wake(self, created: bool = False) -> None:
        """Look at the queue again (any thread); `created`: the news is only that a job was
        created (it queues behind the others)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._woken, created)

    def _woken(self, created: bool) -> None:
        if created and self._closed:
            return
        self._closed = False
        self._wake.set()

    def cancel(self, name: str) -> None:
        """Ask for a job to stop (any thread); its supervisor, or for a queued job the
        scheduler, records it."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._cancel, name)

    async def shutdown(self) -> None:
        if self._loop_task:
            self._loop_task.cancel()
        for supervised in list(self._supervised.values()):
            supervised.supervisor.shutdown()
        await asyncio.gather(*(s.task for s in self._supervised.values()), return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self._threads.shutdown)

    # -- cancel ------------------------------------------------------------------------------
    def _cancel(self, name: str) -> None:
        supervised = self._supervised.get(name)
        if supervised is not None:
            supervised.supervisor.cancel()
            return
        self._cancel_asked.add(name)  # in case admission is taking it right now
        asyncio.create_task(self._cancel_queued(name))

    async def _cancel_queued(self, name: str) -> None:
        if await self.call(self.store.mark_cancelled, name, (states.QUEUED,)) is not None:
            self._cancel_asked.discard(name)
            self.wake()  # it may have held back the jobs behind it
        # Otherwise admission took it: _supervise passes the cancel on.

    # -- admission -----------------------------------------------------------------------------
    async def _admission_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            in_use = Resources()
            for supervised in self._supervised.values():
                in_use = in_use + supervised.need
            try:
                admitted, closed = await self.call(self._admit, in_use, len(self._supervised))
            except Exception:
                log.exception("admission failed")
                continue
            self._closed = closed and not self._wake.is_set()  # (news during the pass: no)
            for record, need in admitted:
                self._supervise(record, need)

    def _admit(
        self, in_use: Resources, running: int
    ) -> tuple[list[tuple[Record, Resources]], bool]:
        """In a worker thread: move the queued jobs that fit to PENDING. Also says whether
        the queue is closed: admission stopped reading it (no later job may pass the ones
        that wait) and took every job it chose."""
        read = _QueueRead(records=self._records)
        chosen = admit(self._queued(read), in_use, self.capacity, running)
        # A whole read of the queue forgets the demands (and records) of jobs no longer queued.
        self._demands = read.seen if read.whole else {**self._demands, **read.seen}
        if read.whole:
            self._records = {
                name: self._records[name] for name in read.seen if name in self._records
            }
        admitted = []
        for name in chosen:
            need, known = read.seen[name], self._records.pop(name, None)
            self._demands.pop(name, None)  # (after a whole read, `read.seen` is this dict)
            try:
                record = self.store.mark_pending(name, self._take_gpus(name, known), known)
            except Exception:  # this job stays QUEUED; the others of the pass go on
                log.exception("admission of %s failed", name)
                record = None
            if record is None:
                if self.gpus is not None:
                    self.gpus.give_back(name)
                continue
            admitted.append((record, need))  # from here on, it is supervised
            try:
                self._log_admission(record, need)
            except OSError:
                log.exception("cannot write to the log of %s", name)
        return admitted, not read.whole and len(admitted) == len(chosen)

    def _log_admission(self, record: Record, need: Resources) -> None:
        if not need.fits_in(self.capacity):
            self._warn_oversized(record, need)
        self._log_gpus(record)

    def _queued(self, read: _QueueRead) -> Iterator[tuple[str, Resources]]:
        """The queued jobs and their demands, oldest first, read a page at a time as far as
        admission reads them (into `read`)."""
        offset, size = 0, FIRST_QUEUE_PAGE
        while True:
            page = self.store.names_in_state(QUEUED, CUSTOM_JOBS, size, offset)
            for name in page:
                if name in read.seen:  # read twice: a create committed late moved the rows
                    continue
                read.seen[name] = self._demand_of(name, read)
                yield name, read.seen[name]
            if len(page) < size:
                read.whole = True
                return
            offset, size = offset + len(page), QUEUE_PAGE

    def _take_gpus(self, name: str, known: Record | None) -> list[list[str]] | None:
        """Device ids per replica for a job admission chose (every replica gets a list, so
        that one asking for none sees none)."""
        if self.gpus is None:
            return None
        record = known or self.store.get(name)  # a job's spec never changes
        wanted = replica_gpus(CustomJobSpec.model_validate(record.body["jobSpec"]))
        given = self.gpus.take(name, fair_share(wanted, len(self.gpus)))
        if given is None:  # admission counted them free: only a bug gets here
            raise RuntimeError(f"admission chose {name} without free GPUs for it")
        return given

    def _log_gpus(self, record: Record) -> None:
        if self.gpus is None or not record.devices:
            return
        wanted = replica_gpus(CustomJobSpec.model_validate(record.body["jobSpec"]))
        path = self.preparer.log_path(record.id)
        for line in assignment_lines(self.gpus, wanted, record.devices):
            joblog.append_service_line(path, line)

    def _demand_of(self, name: str, read: _QueueRead) -> Resources:
        known = self._demands.get(name)
        if known is not None:
            return known
        record = read.records[name] = self.store.get(name)
        need = demand(record)
        # On a host without GPUs, GPUs asked for are left out at launch (with a warning).
        return replace(need, gpus=0) if not self.capacity.gpus else need

    def _warn_oversized(self, record: Record, need: Resources) -> None:
        joblog.append_service_line(
            self.preparer.log_path(record.id),
            f"WARNING: the job asks for {need.describe()}; this host has "
            f"{self.capacity.describe()}. It runs alone, with less than it asked for.",
        )

    def _supervise(self, record: Record, need: Resources) -> None:
        supervisor = Supervisor(
            record, self.store, self.backend, self.preparer, self.timing, self.call
        )
        task = asyncio.create_task(supervisor.run())
        self._supervised[record.name] = _Supervised(supervisor, task, need, record)
        if record.name in self._cancel_asked:
            self._cancel_asked.discard(record.name)
            supervisor.cancel()
        task.add_done_callback(lambda _: self._finished(record.name))

    def _finished(self, name: str) -> None:
        supervised = self._supervised.pop(name)
        if self.gpus is not None:
            self.gpus.give_back(name)
        self.preparer.job_ended(supervised.record.id)
        for listener in self._listeners:
            try:
                listener(supervised.record)
            except Exception:
                log.exception("job-end listener failed for %s", name)
        self.wake()

    # -- recovery at start ---------------------------------------------------------------------
    def _reconcile(self) -> list[Record]:
        """In a worker thread, before new work: account for every job an earlier server left
        unfinished. Returns the jobs to reattach."""
        active = [states.PENDING, states.RUNNING, states.CANCELLING]
        to_reattach = []
        for record in self.store.in_states(active, CUSTOM_JOBS):
            if record.handle is not None:
                to_reattach.append(record)
                self._hold_gpus(record)
            elif states.short(record.state) == states.PENDING:
                self.store.requeue(record.name)  # nothing of it had started
            else:
                self.store.mark_failed(
                    record.name,
                    Code.INTERNAL,
                    "The vertexd server stopped before it recorded the job's replicas.",
                )
        return to_reattach

    def _hold_gpus(self, record: Record) -> None:
        if self.gpus is None or not record.devices:
            return
        clashes = self.gpus.hold(record.name, [key for ids in record.devices for key in ids])
        if clashes:
            log.error("%s holds GPUs another job holds too: %s", record.name, clashes)
