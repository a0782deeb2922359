"""One supervisor per admitted job: the single writer of that job's status.

It prepares the launch plan, submits it, watches the replicas until the job ends, and
stops them on cancel, timeout or server shutdown (SIGTERM, a grace period, then SIGKILL).
The coroutine only decides and waits; every call to the store, the launch or the backend
runs in the scheduler's worker threads (`call`), so the event loop never blocks on them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vertexd.backends.base import Backend, Handle, LaunchError, ReplicaStatus, Unwatch
from vertexd.backends.handles import dump_handle, load_handle
from vertexd.core import joblog, states
from vertexd.core.codes import Code
from vertexd.core.errors import ApiError
from vertexd.launch.environments import BuildStopped, EnvironmentBuildError
from vertexd.launch.plan import LaunchPlan
from vertexd.launch.prepare import Preparer
from vertexd.resources.common import duration_seconds
from vertexd.resources.custom_job_rules import DEFAULT_TIMEOUT_SECONDS
from vertexd.store.jobs import JobStore, Record

log = logging.getLogger(__name__)

# The code of a job's `error` when one of its replicas failed: what Vertex reports.
REPLICA_FAILED = Code.INVALID_ARGUMENT
LAST_LINES = 10
MAX_RESTARTS = 3  # whole-job restarts allowed by scheduling.restartJobOnWorkerRestart
STOP_LOOK_SECONDS = 0.05  # while replicas shut down: how often to look, unless told

Call = Callable[..., Awaitable[Any]]  # runs a blocking function off the event loop


@dataclass(frozen=True)
class Timing:
    grace_seconds: float  # SIGTERM -> SIGKILL
    poll_seconds: float  # between two looks at replicas of a backend that cannot tell
    safety_seconds: float = 1.0  # between two looks when the backend tells of every exit


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    code: int = 0
    message: str = ""
    task_name: str = ""  # the replica that decided the outcome, if one did


class Supervisor:
    def __init__(
        self,
        record: Record,
        store: JobStore,
        backend: Backend,
        preparer: Preparer,
        timing: Timing,
        call: Call,
    ) -> None:
        self.name, self.job_id, self.trial = record.name, record.id, record.trial
        self.store, self.backend, self.preparer = store, backend, preparer
        self.timing, self.call = timing, call
        self.log_path = preparer.log_path(record.id)
        self._stop_reason: str | None = None  # "cancel" or "shutdown"
        self._nudge = asyncio.Event()  # a stop request, or the backend saying "look again"
        self._deadline: float | None = None
        # The job as this supervisor last read or wrote it: at first, as admission moved it.
        self._latest: Record | None = record

    def cancel(self) -> None:
        self._request_stop("cancel")

    def shutdown(self) -> None:
        self._request_stop("shutdown")

    def _request_stop(self, reason: str) -> None:
        if self._stop_reason != "cancel":
            self._stop_reason = reason
        self._nudge.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()

        def changed() -> None:  # the backend's news, from any thread
            loop.call_soon_threadsafe(self._nudge.set)

        try:
            while True:
                started = await self.call(self._start, changed)
                if started is None:
                    return
                handle, unwatch = started
                try:
                    outcome = await self._watch(handle, unwatch)
                except BaseException:
                    await self.call(self.backend.cleanup, handle)
                    raise
                if await self.call(self._end, handle, outcome):
                    return
        except Exception as exc:  # a bug here must fail the job, never leave it RUNNING
            log.exception("supervisor of %s failed", self.name)
            await self.call(
                self.store.mark_failed, self.name, Code.INTERNAL, f"Internal error: {exc}"
            )

    def _end(self, handle: Handle, outcome: Outcome | None) -> bool:
        """In a worker thread, once every replica has stopped: kill what they left, then
        record the outcome (True), or restart the job (False). None: the stop was recorded."""
        self.backend.cleanup(handle)
        if outcome is None:
            return True
        if outcome.succeeded or not self._may_restart(outcome):
            self._record(outcome)
            return True
        self._restart(outcome)
        return False

    # -- start (in a worker thread) --------------------------------------------------------
    def _start(self, changed: Callable[[], None]) -> tuple[Handle, Unwatch | None] | None:
        """Launch the job (or reattach to it) and start hearing of its replicas' exits
        (`changed` is called on each); None when it did not start."""
        handle = self._launch()
        return None if handle is None else (handle, self._hear_exits(handle, changed))

    def _hear_exits(self, handle: Handle, changed: Callable[[], None]) -> Unwatch | None:
        try:
            return self.backend.watch(handle, changed)
        except Exception:  # the replicas run all the same: they are polled instead
            log.exception("cannot watch the replicas of %s", self.name)
            return None

    def _launch(self) -> Handle | None:
        # A record that is older than the row only makes the compare-and-set below read it.
        record = self._latest or self.store.get(self.name)
        self._deadline = _deadline(record)
        if record.handle is not None:  # reattaching after a server restart
            self.service_log("vertexd restarted: reattached to the job's replicas.")
            self.preparer.reattached(record.id)
            self._latest = self.store.mark_running(self.name, seen=record)
            if states.short(record.state) == states.CANCELLING:
                self._stop_reason = "cancel"
            return load_handle(record.handle)
        try:
            plan = self.preparer.prepare(
                record.id,
                record.body["jobSpec"],
                record.attempt,
                self.service_log,
                self.backend.reserve,
                self.trial.id if self.trial else "",
                should_stop=lambda: self._stop_reason is not None,
                gpu_ids=record.devices,
            )
        except BuildStopped:
            self._end_before_start()
            return None
        except (EnvironmentBuildError, LaunchError, ApiError) as exc:
            self._fail_to_start(str(exc))
            return None
        if self._stop_reason:
            self._release(plan)
            self._end_before_start()
            return None
        try:
            handle = self.backend.submit(plan)
        except LaunchError as exc:
            self._release(plan)
            self._fail_to_start(str(exc))
            return None
        started = self.store.mark_running(self.name, dump_handle(handle), seen=record)
        self._latest = started
        if started is None:  # cancelled meanwhile: the handle is kept all the same
            self.store.set_handle(self.name, dump_handle(handle))
        self._deadline = _deadline(started) if started else None
        self.service_log(f"Started {len(plan.replicas)} replica(s) on the {handle.label} backend.")
        return handle

    def _release(self, plan: LaunchPlan) -> None:
        if plan.reservation is not None:
            self.backend.release(plan.reservation)

    def _fail_to_start(self, message: str) -> None:
        self.service_log(message)
        self.store.mark_failed(self.name, REPLICA_FAILED, message)

    def _end_before_start(self) -> None:
        if self._stop_reason == "cancel":
            self.store.mark_cancelling(self.name)
            self.store.mark_cancelled(self.name)
        else:
            self.store.requeue(self.name)

    # -- watch -----------------------------------------------------------------------------
    async def _watch(self, handle: Handle, unwatch: Unwatch | None) -> Outcome | None:
        """Wait for the job's outcome; every replica is stopped when this returns."""
        interval = self.timing.safety_seconds if unwatch else self.timing.poll_seconds
        # A watch begins with a look of its own (a replica that has ended already is told
        # of at once): the first poll waits for news.
        look = unwatch is None
        try:
            while True:
                if self._stop_reason:
                    await self._stop_replicas(handle)
                    await self.call(self._record_stop)
                    return None
                if look:
                    self._nudge.clear()  # before the look, so that no news is missed after it
                    statuses = await self.call(self.backend.poll, handle)
                    outcome = judge(statuses)
                    if outcome is None and self._deadline and time.time() >= self._deadline:
                        outcome = Outcome(False, Code.DEADLINE_EXCEEDED, self._timeout_message())
                    if outcome is not None:
                        if _any_running(statuses):
                            await self._stop_replicas(handle)
                        return outcome
                look = True
                await self._wait(interval)
        finally:
            if unwatch is not None:
                unwatch()

    async def _wait(self, seconds: float) -> None:
        """Sleep `seconds` (never past the deadline), or until nudged."""
        if self._deadline is not None:
            seconds = max(0.0, min(seconds, self._deadline - time.time()))
        with suppress(TimeoutError):
            await asyncio.wait_for(self._nudge.wait(), seconds)

    async def _stop_replicas(self, handle: Handle) -> None:
        if not await self._any_running(handle):
            return
        await self.call(self.backend.stop, handle, False)
        give_up = time.monotonic() + self.timing.grace_seconds
        while time.monotonic() < give_up:
            self._nudge.clear()
            if not await self._any_running(handle):
                return
            await self._wait(STOP_LOOK_SECONDS)
        self.service_log(f"Replicas still running after {self.timing.grace_seconds:g}s: killed.")
        await self.call(self.backend.stop, handle, True)

    async def _any_running(self, handle: Handle) -> bool:
        return _any_running(await self.call(self.backend.poll, handle))

    # -- record (in a worker thread) -------------------------------------------------------
    def _record(self, outcome: Outcome) -> None:
        if outcome.succeeded:
            self.store.mark_succeeded(self.name, seen=self._latest)
            self.service_log("Job succeeded.")
            return
        message = outcome.message
        if outcome.task_name:
            message = self._with_last_lines(message, outcome.task_name)
        self.store.mark_failed(self.name, outcome.code, message, seen=self._latest)
        self.service_log(f"Job failed: {outcome.message}")

    def _may_restart(self, outcome: Outcome) -> bool:
        """scheduling.restartJobOnWorkerRestart restarts the whole job when a replica fails,
        at most MAX_RESTARTS times; disableRetries overrides it, as on Vertex."""
        record = self.store.get(self.name)
        scheduling = (record.body.get("jobSpec") or {}).get("scheduling") or {}
        wanted = scheduling.get("restartJobOnWorkerRestart") and not scheduling.get(
            "disableRetries"
        )
        return bool(wanted) and bool(outcome.task_name) and record.attempt <= MAX_RESTARTS

    def _restart(self, outcome: Outcome) -> None:
        attempt = self.store.get(self.name).attempt
        self.service_log(
            f"{outcome.message} Restarting the whole job ({attempt} of {MAX_RESTARTS} "
            "restarts), as scheduling.restartJobOnWorkerRestart asks."
        )
        self.store.set_handle(self.name, None)
        self._latest = self.store.mark_pending(self.name)

    def _record_stop(self) -> None:
        if self._stop_reason == "cancel":
            self.store.mark_cancelling(self.name)
            self.store.mark_cancelled(self.name)
            self.service_log("Job cancelled.")
        else:
            message = "The vertexd server shut down while the job was running; it was stopped."
            self.store.mark_failed(self.name, Code.UNAVAILABLE, message)
            self.service_log(message)

    def _timeout_message(self) -> str:
        timeout = self.store.get(self.name).body["jobSpec"]["scheduling"]["timeout"]
        return f"The job ran longer than its scheduling.timeout of {timeout} and was stopped."

    def _with_last_lines(self, message: str, task_name: str) -> str:
        lines = joblog.tail_texts(self.log_path, LAST_LINES, task_name)
        return message + ("\nLast log lines:\n" + "\n".join(lines) if lines else "")

    def service_log(self, text: str) -> None:
        joblog.append_service_line(self.log_path, text)


def _deadline(record: Record) -> float | None:
    """When scheduling.timeout (Vertex's 7 days if unset) runs out, once the job has started."""
    timeout = ((record.body.get("jobSpec") or {}).get("scheduling") or {}).get("timeout")
    start = record.body.get("startTime")
    if not start:
        return None
    started = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
    return started + (duration_seconds(timeout) if timeout else DEFAULT_TIMEOUT_SECONDS)


def _any_running(statuses: list[ReplicaStatus]) -> bool:
    return any(status.running for status in statuses)


def judge(statuses: list[ReplicaStatus]) -> Outcome | None:
    """Gang rules: any replica failing fails the job; the chief ending well ends it well."""
    for status in statuses:
        if status.lost:
            detail = status.detail or "it was lost"
            message = f"The replica {status.task_name} ended without an exit code: {detail}."
            return Outcome(False, Code.INTERNAL, message, status.task_name)
        if status.failed:
            message = (
                f"The replica {status.task_name} exited with a non-zero status of "
                f"{status.exit_code}" + (f": {status.detail}." if status.detail else ".")
            )
            return Outcome(False, REPLICA_FAILED, message, status.task_name)
    if statuses and statuses[0].exit_code == 0:
        return Outcome(True)
    return None
