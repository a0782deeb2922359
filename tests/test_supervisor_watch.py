"""A supervisor hears its replicas end from the backend's watch, and still ends its job when
the watch cannot be had. Real local processes, a real store; the supervisor runs on its own
event loop, as the engine runs it."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from conftest import wait_exit_code
from vertexd.backends.base import Handle, Unwatch
from vertexd.backends.handles import dump_handle
from vertexd.backends.local import LocalBackend
from vertexd.backends.process_group import alive
from vertexd.core import states
from vertexd.launch.environments import EnvironmentBuilder
from vertexd.launch.plan import LaunchPlan, ReplicaPlan, Resources
from vertexd.launch.prepare import Preparer
from vertexd.scheduler.supervisor import Supervisor, Timing
from vertexd.storage.storage import Storage
from vertexd.store.db import make_engine, migrate
from vertexd.store.jobs import JobStore

NAME = "projects/p/locations/l/customJobs/7"
NO_SAFETY_LOOK = 600.0  # seconds: a job that ends is heard of only through the watch


class WatchFails(LocalBackend):
    """Fault injection: a backend whose watch breaks (a pidfd limit, a kernel without them)."""

    def watch(self, handle: Handle, changed: Callable[[], None]) -> Unwatch | None:
        raise OSError(24, "Too many open files")


def _started_job(tmp_path: Path, backend: LocalBackend, script: str) -> tuple[JobStore, Any]:
    """A RUNNING job whose one replica runs `script`, as a server that stopped left it."""
    run_dir = tmp_path / "jobs" / "7" / "attempt-0"
    replica = ReplicaPlan(
        "workerpool0-0", (sys.executable, "-c", script), {}, run_dir / "workerpool0-0", Resources()
    )
    log_path = tmp_path / "jobs" / "7" / "job.log"
    handle = backend.submit(LaunchPlan("7", run_dir, log_path, (replica,)))
    engine = make_engine(f"sqlite:///{tmp_path / 'vertexd.db'}")
    migrate(engine)
    store = JobStore(engine)
    store.insert(
        "customJobs", "projects/p/locations/l", {"name": NAME, "state": "JOB_STATE_QUEUED"}
    )
    store.mark_pending(NAME)
    record = store.mark_running(NAME, dump_handle(handle))
    return store, record


def _supervise(
    tmp_path: Path, store: JobStore, record: Any, backend: LocalBackend, timing: Timing
) -> str:
    """Run the job's supervisor until it ends (at most 30 s); the job's final state."""
    preparer = Preparer(
        tmp_path / "jobs", EnvironmentBuilder(tmp_path / "envs", Storage(tmp_path / "b")), {}
    )

    async def call(function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(partial(function, *args))

    supervisor = Supervisor(record, store, backend, preparer, timing, call)
    asyncio.run(asyncio.wait_for(supervisor.run(), 30))
    return states.short(store.get(NAME).state)


def test_a_replica_that_ended_before_its_watch_began_is_heard_of(tmp_path: Path) -> None:
    backend = LocalBackend()
    try:
        store, record = _started_job(tmp_path, backend, "raise SystemExit(0)")
        # It has exited, and its exit is recorded, before the supervisor starts its watch.
        wait_exit_code(tmp_path / "jobs" / "7" / "attempt-0" / "workerpool0-0.exit")
        (replica,) = record.handle["replicas"]
        deadline = time.monotonic() + 30
        while alive(replica["pid"], replica["start_time"]):
            assert time.monotonic() < deadline, "the replica's runner did not exit"
            time.sleep(0.01)
        only_the_watch = Timing(1, poll_seconds=NO_SAFETY_LOOK, safety_seconds=NO_SAFETY_LOOK)
        assert _supervise(tmp_path, store, record, backend, only_the_watch) == states.SUCCEEDED
    finally:
        backend.close()


def test_a_job_whose_replicas_cannot_be_watched_is_polled_to_its_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = WatchFails()
    try:
        store, record = _started_job(tmp_path, backend, "import time; time.sleep(0.2); exit(3)")
        fast = Timing(grace_seconds=1, poll_seconds=0.05, safety_seconds=0.05)
        with caplog.at_level(logging.ERROR, "vertexd.scheduler.supervisor"):
            assert _supervise(tmp_path, store, record, backend, fast) == states.FAILED
        assert "cannot watch the replicas of" in caplog.text
        error = store.get(NAME).body["error"]
        assert "exited with a non-zero status of 3" in error["message"]
    finally:
        backend.close()
