"""One supervisor per admitted job: the single writer of that job's status.

It prepares the launch plan, submits it, watches the replicas until the job ends, and
stops them on cancel, timeout or server shutdown (SIGTERM, a grace period, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from vertexd.backends.base import Backend, Handle, LaunchError, ReplicaStatus
from vertexd.errors import ApiError
from vertexd.launch.environments import BuildStopped, EnvironmentBuildError, build_stop_requested
from vertexd.launch.prepare import Preparer
from vertexd.resources.common import duration_seconds
from vertexd.scheduler import states
from vertexd.store import logs
from vertexd.store.jobs import JobStore, Record

log = logging.getLogger(__name__)

# google.rpc.Code values written into a job's `error`.
CODE_FAILED, CODE_TIMEOUT, CODE_INTERNAL, CODE_UNAVAILABLE = 3, 4, 13, 14
LAST_LINES = 10
MAX_RESTARTS = 3  # whole-job restarts allowed by scheduling.restartJobOnWorkerRestart


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
        grace_seconds: float,
        poll_seconds: float,
    ) -> None:
        self.name, self.job_id = record.name, record.id
        self.store, self.backend, self.preparer = store, backend, preparer
        self.grace, self.poll = grace_seconds, poll_seconds
        self.log_path = preparer.log_path(record.id)
        self._stop_reason: str | None = None  # "cancel" or "shutdown"
        self._stop_requested = asyncio.Event()

    def cancel(self) -> None:
        self._request_stop("cancel")

    def shutdown(self) -> None:
        self._request_stop("shutdown")

    def _request_stop(self, reason: str) -> None:
        if self._stop_reason != "cancel":
            self._stop_reason = reason
        self._stop_requested.set()

    async def run(self) -> None:
        try:
            while True:
                handle = await self._start()
                if handle is None:
                    return
                try:
                    outcome = await self._watch(handle)
                finally:
                    self.backend.cleanup(handle)
                if outcome is None:  # stopped by cancel or shutdown, already recorded
                    return
                if outcome.succeeded or not self._may_restart(outcome):
                    self._record(outcome)
                    return
                self._restart(outcome)
        except Exception as exc:  # a bug here must fail the job, never leave it RUNNING
            log.exception("supervisor of %s failed", self.name)
            self.store.mark_failed(self.name, CODE_INTERNAL, f"Internal error: {exc}")

    # -- start ---------------------------------------------------------------------------------
    async def _start(self) -> Handle | None:
        record = self.store.get(self.name)
        runtime = record.runtime or {}
        if "handle" in runtime:  # reattaching after a server restart
            self.service_log("vertexd restarted: reattached to the job's replicas.")
            self.store.mark_running(self.name)
            if states.short(record.state) == states.CANCELLING:
                self.cancel()
            return dict(runtime["handle"])
        build_stop_requested.set(lambda: self._stop_reason is not None)
        try:
            plan = await asyncio.to_thread(
                self.preparer.prepare,
                record.id,
                record.body["jobSpec"],
                record.attempt,
                self.service_log,
                self.backend.reserve,
                str(runtime.get("trial", {}).get("id", "")),
            )
        except BuildStopped:
            self._end_before_start()
            return None
        except (EnvironmentBuildError, LaunchError, ApiError) as exc:
            self.service_log(str(exc))
            self.store.mark_failed(self.name, CODE_FAILED, str(exc))
            return None
        if self._stop_reason:
            self.backend.release(plan.reservation)
            self._end_before_start()
            return None
        try:
            handle = self.backend.submit(plan)
        except LaunchError as exc:
            self.backend.release(plan.reservation)
            self.service_log(str(exc))
            self.store.mark_failed(self.name, CODE_FAILED, str(exc))
            return None
        self.store.set_runtime(
            self.name, {**runtime, "backend": self.backend.name, "handle": handle}
        )
        self.store.mark_running(self.name)
        count = len(plan.replicas)
        self.service_log(f"Started {count} replica(s) on the {self.backend.name} backend.")
        return handle

    def _end_before_start(self) -> None:
        if self._stop_reason == "cancel":
            self.store.mark_cancelling(self.name)
            self.store.mark_cancelled(self.name)
        else:
            self.store.requeue(self.name)

    # -- watch ---------------------------------------------------------------------------------
    async def _watch(self, handle: Handle) -> Outcome | None:
        """Wait for the job's outcome; every replica is stopped when this returns."""
        deadline = self._deadline()
        while True:
            if self._stop_reason:
                await self._stop_replicas(handle)
                self._record_stop()
                return None
            outcome = judge(self.backend.poll(handle))
            if outcome is None and deadline is not None and time.time() >= deadline:
                outcome = Outcome(False, CODE_TIMEOUT, self._timeout_message())
            if outcome is not None:
                await self._stop_replicas(handle)
                return outcome
            try:
                await asyncio.wait_for(self._stop_requested.wait(), self.poll)
            except TimeoutError:
                pass

    async def _stop_replicas(self, handle: Handle) -> None:
        if not any(status.running for status in self.backend.poll(handle)):
            return
        self.backend.stop(handle, force=False)
        give_up = time.monotonic() + self.grace
        while time.monotonic() < give_up:
            if not any(status.running for status in self.backend.poll(handle)):
                return
            await asyncio.sleep(0.05)
        self.service_log(f"Replicas still running after {self.grace:g}s: killed.")
        self.backend.stop(handle, force=True)

    def _record(self, outcome: Outcome) -> None:
        if outcome.succeeded:
            self.store.mark_succeeded(self.name)
            self.service_log("Job succeeded.")
            return
        message = outcome.message
        if outcome.task_name:
            message = self._with_last_lines(message, outcome.task_name)
        self.store.mark_failed(self.name, outcome.code, message)
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
        record = self.store.get(self.name)
        self.service_log(
            f"{outcome.message} Restarting the whole job ({record.attempt} of {MAX_RESTARTS} "
            "restarts), as scheduling.restartJobOnWorkerRestart asks."
        )
        runtime = {k: v for k, v in (record.runtime or {}).items() if k not in ("handle",)}
        self.store.set_runtime(self.name, runtime)
        self.store.mark_pending(self.name)

    def _record_stop(self) -> None:
        if self._stop_reason == "cancel":
            self.store.mark_cancelling(self.name)
            self.store.mark_cancelled(self.name)
            self.service_log("Job cancelled.")
        else:
            message = "The vertexd server shut down while the job was running; it was stopped."
            self.store.mark_failed(self.name, CODE_UNAVAILABLE, message)
            self.service_log(message)

    def _deadline(self) -> float | None:
        record = self.store.get(self.name)
        timeout = ((record.body.get("jobSpec") or {}).get("scheduling") or {}).get("timeout")
        start = record.body.get("startTime")
        if not timeout or not start:
            return None
        started = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
        return started + duration_seconds(timeout)

    def _timeout_message(self) -> str:
        timeout = self.store.get(self.name).body["jobSpec"]["scheduling"]["timeout"]
        return f"The job ran longer than its scheduling.timeout of {timeout} and was stopped."

    def _with_last_lines(self, message: str, task_name: str) -> str:
        lines = logs.tail_texts(self.log_path, LAST_LINES, task_name)
        return message + ("\nLast log lines:\n" + "\n".join(lines) if lines else "")

    def service_log(self, text: str) -> None:
        logs.append_service_line(self.log_path, text)


def judge(statuses: list[ReplicaStatus]) -> Outcome | None:
    """Gang rules: any replica failing fails the job; the chief ending well ends it well."""
    for status in statuses:
        if status.lost:
            detail = status.detail or "it was lost"
            message = f"The replica {status.task_name} ended without an exit code: {detail}."
            return Outcome(False, CODE_INTERNAL, message, status.task_name)
        if status.failed:
            message = (
                f"The replica {status.task_name} exited with a non-zero status of "
                f"{status.exit_code}."
            )
            return Outcome(False, CODE_FAILED, message, status.task_name)
    if statuses and statuses[0].exit_code == 0:
        return Outcome(True)
    return None
