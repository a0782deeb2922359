"""The rules, without servers: allowed moves of jobs and trials, the store's named
transitions, admission, the supervisor's judgement, storage path rules, the bounds of
settings. Seconds in all."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from vertexd.backends.base import ReplicaStatus
from vertexd.core import states
from vertexd.core.codes import Code
from vertexd.core.errors import InvalidArgument
from vertexd.launch.plan import Resources
from vertexd.scheduler.admission import admit
from vertexd.scheduler.supervisor import REPLICA_FAILED, judge
from vertexd.settings import Settings
from vertexd.storage import Storage, check_uri
from vertexd.store.db import make_engine, migrate
from vertexd.store.jobs import JobStore
from vertexd.tuning import trials as T
from vertexd.tuning.trials import TrialState

NAME = "projects/p/locations/l/customJobs/1"


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'rules.db'}")
    migrate(engine)
    jobs = JobStore(engine)
    jobs.insert("customJobs", "projects/p/locations/l", {"name": NAME, "state": "JOB_STATE_QUEUED"})
    return jobs


# -- job states ----------------------------------------------------------------------------
@pytest.mark.parametrize("terminal", sorted(states.TERMINAL))
def test_a_terminal_state_is_never_left(terminal: str) -> None:
    every = [*states.ALLOWED, *states.TERMINAL]
    assert not any(states.can_move(f"JOB_STATE_{terminal}", target) for target in every)


def test_the_moves_of_a_job() -> None:
    assert states.can_move("JOB_STATE_QUEUED", states.PENDING)
    assert not states.can_move("JOB_STATE_QUEUED", states.RUNNING)  # admitted first
    assert states.can_move("JOB_STATE_RUNNING", states.PENDING)  # a whole-job restart
    assert not states.can_move("JOB_STATE_CANCELLING", states.SUCCEEDED)
    assert states.full_name("PIPELINE_STATE_QUEUED", states.RUNNING) == "PIPELINE_STATE_RUNNING"


def test_store_transitions_follow_the_machine(store: JobStore) -> None:
    assert store.mark_running(NAME) is None  # QUEUED -> RUNNING is not a move
    pending = store.mark_pending(NAME)
    assert pending is not None and pending.attempt == 1 and pending.revision == 1
    running = store.mark_running(NAME)
    assert running is not None and "startTime" in running.body
    failed = store.mark_failed(NAME, Code.INTERNAL, "boom")
    assert failed is not None and failed.body["error"] == {"code": 13, "message": "boom"}
    assert store.mark_succeeded(NAME) is None and store.requeue(NAME) is None
    stored = store.get(NAME)
    assert stored.state == "JOB_STATE_FAILED" and stored.body == failed.body


def test_cancel_only_from_the_states_asked(store: JobStore) -> None:
    store.mark_pending(NAME)
    assert store.mark_cancelled(NAME, only_from=(states.QUEUED,)) is None
    assert store.get(NAME).state == "JOB_STATE_PENDING"
    assert store.mark_cancelled(NAME) is not None


def test_body_updates_and_moves_keep_each_other(store: JobStore) -> None:
    store.update_body(NAME, lambda body: body.update(note="kept"))
    moved = store.mark_pending(NAME)
    assert moved is not None and moved.body["note"] == "kept"
    assert store.update_body(NAME, lambda body: None).body["state"] == "JOB_STATE_PENDING"


def test_observers_hear_every_move_and_only_moves(store: JobStore) -> None:
    heard: list[str] = []
    store.observe(lambda record: heard.append(record.state))
    store.update_body(NAME, lambda body: None)
    store.mark_pending(NAME)
    store.mark_pending(NAME)  # refused: no news
    assert heard == ["JOB_STATE_PENDING"]


# -- trial states --------------------------------------------------------------------------
def test_the_moves_of_a_trial() -> None:
    trial = T.new_trial("1", {"lr": 0.1}, "projects/p/locations/l/customJobs/9")
    assert trial["state"] == "ACTIVE"
    assert T.stop(trial) and trial["state"] == "STOPPING"
    assert not T.stop(trial)
    assert T.finish(trial, TrialState.SUCCEEDED) and "endTime" in trial
    assert not T.finish(trial, TrialState.INFEASIBLE, reason="late")
    assert trial["state"] == "SUCCEEDED" and "infeasibleReason" not in trial


def test_the_best_trial_follows_the_goal() -> None:
    def scored(trial_id: str, value: float, state: str = "SUCCEEDED") -> dict[str, object]:
        final = {"metrics": [{"metricId": "acc", "value": value}]}
        return {"id": trial_id, "state": state, "finalMeasurement": final}

    trials = [scored("1", 0.5), scored("2", 0.9), scored("3", 0.99, "INFEASIBLE"), {"id": "4"}]
    job = {"studySpec": {"metrics": [{"metricId": "acc", "goal": "MAXIMIZE"}]}, "trials": trials}
    best = T.best_trial(job)
    assert best is not None and best["id"] == "2"
    job["studySpec"]["metrics"][0]["goal"] = 2  # MINIMIZE, as an int enum
    best = T.best_trial(job)
    assert best is not None and best["id"] == "1"
    assert T.best_trial({"studySpec": {"metrics": [{"metricId": "acc"}]}, "trials": []}) is None


# -- admission -----------------------------------------------------------------------------
def test_admission_is_first_come_first_served() -> None:
    host = Resources(8, 32)
    queue = [("big", Resources(6, 8)), ("small", Resources(1, 1)), ("next", Resources(1, 1))]
    assert admit(queue, Resources(), host, running=0) == ["big", "small", "next"]
    assert admit(queue, Resources(4, 4), host, running=1) == []  # big waits; nobody jumps it
    assert admit(queue[1:], Resources(6, 8), host, running=1) == ["small", "next"]


def test_admission_reads_the_queue_no_further_than_a_job_could_pass() -> None:
    host = Resources(4, 15)
    read: list[str] = []

    def queue(count: int, need: Resources) -> Iterator[tuple[str, Resources]]:
        for index in range(count):
            read.append(f"job-{index}")
            yield f"job-{index}", need

    # One n1-standard-4 runs: the next waits, and with it every CPU is spoken for.
    assert admit(queue(500, Resources(4, 15)), Resources(4, 15), host, running=1) == []
    assert read == ["job-0"]
    read.clear()
    # A GPU job waits for the GPU in use; CPU jobs behind it pass while the CPUs leave room
    # for it too, and the queue is read one job further, no more.
    gpu_first = itertools.chain([("gpu", Resources(1, 1, 1))], queue(500, Resources(1, 1)))
    chosen = admit(gpu_first, Resources(1, 1, 1), Resources(4, 15, 1), running=1)
    assert chosen == ["job-0", "job-1"] and read == ["job-0", "job-1", "job-2"]


def test_a_job_larger_than_the_host_runs_alone() -> None:
    huge = [("huge", Resources(96, 360, 8)), ("small", Resources(1, 1))]
    assert admit(huge, Resources(), Resources(2, 4), running=0) == ["huge"]
    assert admit(huge, Resources(1, 1), Resources(2, 4), running=1) == []


# -- the supervisor's judgement --------------------------------------------------------------
def test_judge_applies_the_gang_rules() -> None:
    chief_ok = ReplicaStatus("workerpool0-0", False, exit_code=0)
    worker_running = ReplicaStatus("workerpool1-0", True)
    worker_failed = ReplicaStatus("workerpool1-0", False, exit_code=2)
    lost = ReplicaStatus("workerpool1-1", False, lost=True, detail="its node died")
    assert judge([ReplicaStatus("workerpool0-0", True), worker_running]) is None
    done = judge([chief_ok, worker_running])  # the chief ended well: the others are stopped
    assert done is not None and done.succeeded
    failed = judge([ReplicaStatus("workerpool0-0", True), worker_failed])
    assert failed is not None and not failed.succeeded and failed.code == REPLICA_FAILED
    assert failed.task_name == "workerpool1-0" and "status of 2" in failed.message
    gone = judge([chief_ok, lost])  # a lost replica fails the job even after the chief's exit
    assert gone is not None and gone.code == Code.INTERNAL and "its node died" in gone.message
    assert judge([]) is None


# -- storage path rules ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "uri",
    [
        "",
        "s3://bucket/key",
        "gs://Bad_Bucket/x",
        "gs://b/../etc/passwd",
        "gs://b/a/./c",
        "file://x",
    ],
)
def test_storage_refuses_what_it_cannot_use(uri: str, tmp_path: Path) -> None:
    assert check_uri(uri)
    with pytest.raises(InvalidArgument):
        Storage(tmp_path / "buckets").local_path(uri)


def test_gs_uris_stay_inside_the_local_buckets(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "buckets")
    path = storage.local_path("gs://bucket/models/m.joblib")
    assert path == (tmp_path / "buckets" / "bucket" / "models" / "m.joblib").resolve()
    assert storage.local_path("file:///srv/data.csv") == Path("/srv/data.csv")


def test_admission_reads_each_queued_job_once_when_a_create_commits_late(
    store: JobStore,
) -> None:
    """A create that took its time before commit sorts before rows read already: the pages
    that follow shift, and a job would be read (and admitted) twice."""
    from datetime import timedelta

    from sqlalchemy import update

    from vertexd.scheduler.scheduler import FIRST_QUEUE_PAGE, Scheduler, _QueueRead
    from vertexd.scheduler.supervisor import Timing
    from vertexd.store.tables import resources

    parent = "projects/p/locations/l"
    for index in range(2, FIRST_QUEUE_PAGE + 6):
        body = {"name": f"{parent}/customJobs/{index}", "state": "JOB_STATE_QUEUED"}
        store.insert("customJobs", parent, {**body, "jobSpec": {}})
    scheduler = Scheduler(store, None, None, Resources(64, 1000), Timing(1, 1))  # type: ignore[arg-type]
    read = _QueueRead()
    names = scheduler._queued(read)
    first_page = [next(names)[0] for _ in range(FIRST_QUEUE_PAGE)]
    late = store.insert(
        "customJobs", parent, {"name": f"{parent}/customJobs/late", "state": "JOB_STATE_QUEUED"}
    )
    with store.engine.begin() as conn:  # its create time was taken before the others'
        earlier = store.get(NAME).create_time - timedelta(seconds=1)
        conn.execute(
            update(resources).where(resources.c.name == late.name).values(create_time=earlier)
        )
    rest = [name for name, _ in names]
    read_names = first_page + rest
    assert len(read_names) == len(set(read_names))  # none twice
    assert set(read_names) >= {f"{parent}/customJobs/{i}" for i in range(2, FIRST_QUEUE_PAGE + 6)}
    # A whole pass admits every queued job, each once (the host has room for all).
    taken, closed = scheduler._admit(Resources(), 0)
    admitted = [record.name for record, _ in taken]
    assert len(admitted) == len(set(admitted)) == FIRST_QUEUE_PAGE + 6  # with NAME and `late`
    assert {store.get(name).state for name in admitted} == {"JOB_STATE_PENDING"}
    assert not closed  # it read the whole queue


def test_a_create_behind_jobs_that_wait_for_room_starts_no_admission_pass(
    store: JobStore,
) -> None:
    from vertexd.scheduler.scheduler import Scheduler
    from vertexd.scheduler.supervisor import Timing

    parent = "projects/p/locations/l"
    pool = {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1"}
    for index in range(2, 5):
        body = {"name": f"{parent}/customJobs/{index}", "state": "JOB_STATE_QUEUED"}
        store.insert("customJobs", parent, {**body, "jobSpec": {"workerPoolSpecs": [pool]}})
    one_at_a_time = Resources(4, 15)
    scheduler = Scheduler(store, None, None, one_at_a_time, Timing(1, 1))  # type: ignore[arg-type]
    # Room for one n1-standard-4 (and the fixture's job, which asks for nothing): the next
    # waits, and nothing behind it may pass. The queue stays closed while they run.
    taken, closed = scheduler._admit(Resources(), running=0)
    assert [record.name for record, _ in taken] == [NAME, f"{parent}/customJobs/2"] and closed
    assert scheduler._admit(one_at_a_time, running=2) == ([], True)

    async def woken_by(created: bool) -> bool:
        scheduler._loop = asyncio.get_running_loop()
        scheduler._closed, scheduler._wake = True, asyncio.Event()
        scheduler.wake(created=created)
        await asyncio.sleep(0)  # the loop runs what wake() handed it
        return scheduler._wake.is_set()

    assert asyncio.run(woken_by(created=True)) is False  # a new job queues behind them
    assert asyncio.run(woken_by(created=False)) is True  # a job ended, or one was cancelled


# -- settings -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [{"cpus": -1}, {"memory_gb": -1}, {"grace_seconds": -1}, {"poll_seconds": 0}, {"port": 70000},
     {"grpc_port": -1}, {"ray_placement_timeout_seconds": 0}, {"ray_warm_actors": -1}],
)  # fmt: skip
def test_settings_refuse_numbers_out_of_range(bad: dict[str, float]) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**bad)  # type: ignore[arg-type]
    assert [error["loc"] for error in refused.value.errors()] == [tuple(bad)]
