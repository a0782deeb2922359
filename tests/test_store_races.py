"""Many threads racing writes of the same job, on SQLite and PostgreSQL: one move wins, a
terminal state is never left, and no body update is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from vertexd.core.codes import Code
from vertexd.store.db import make_engine, migrate
from vertexd.store.jobs import JobStore
from vertexd.store.records import Record

THREADS = 12
PARENT = "projects/p/locations/l"


@pytest.fixture
def store(database_url: str) -> Iterator[JobStore]:
    engine = make_engine(database_url)
    migrate(engine)
    yield JobStore(engine)
    engine.dispose()


def running_job(store: JobStore, job_id: str) -> str:
    name = f"{PARENT}/customJobs/{job_id}"
    store.insert("customJobs", PARENT, {"name": name, "state": "JOB_STATE_QUEUED"})
    store.mark_pending(name)
    store.mark_running(name)
    return name


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call at the same moment, each in its own thread; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_racing_ends_of_a_job_have_one_winner(store: JobStore) -> None:
    heard: list[Record] = []
    store.observe(heard.append)
    for round_ in range(10):
        name = running_job(store, f"race-{round_}")
        heard.clear()
        calls: list[Callable[[], Any]] = []
        for index in range(THREADS):
            if index % 3 == 0:
                calls.append(lambda n=name: store.mark_succeeded(n))
            elif index % 3 == 1:
                calls.append(lambda n=name, i=index: store.mark_failed(n, Code.INTERNAL, f"t{i}"))
            else:
                calls.append(lambda n=name: store.mark_cancelling(n))
        winners = [result for result in race(calls) if result is not None]
        # From RUNNING one end wins; or CANCELLING wins, and then at most FAILED after it.
        cancelling = [w for w in winners if w.state == "JOB_STATE_CANCELLING"]
        ends = [w for w in winners if w.state != "JOB_STATE_CANCELLING"]
        assert winners and len(cancelling) <= 1 and len(ends) <= 1, winners
        if cancelling and ends:
            assert ends[0].state == "JOB_STATE_FAILED"
        last = ends[0] if ends else cancelling[0]
        stored = store.get(name)
        assert (stored.state, stored.body) == (last.state, last.body)
        assert sorted(r.state for r in heard) == sorted(w.state for w in winners)


def test_a_terminal_state_is_never_left_under_a_race(store: JobStore) -> None:
    name = running_job(store, "ended")
    assert store.mark_succeeded(name) is not None
    calls: list[Callable[[], Any]] = [
        lambda: store.requeue(name),
        lambda: store.mark_pending(name),
        lambda: store.mark_running(name),
        lambda: store.mark_failed(name, Code.INTERNAL, "late"),
        lambda: store.mark_cancelled(name),
    ] * 3
    assert race(calls) == [None] * len(calls)
    ended = store.get(name)
    assert ended.state == "JOB_STATE_SUCCEEDED" and "error" not in ended.body


def test_no_body_update_is_lost_while_the_job_moves(store: JobStore) -> None:
    name = f"{PARENT}/customJobs/notes"
    store.insert("customJobs", PARENT, {"name": name, "state": "JOB_STATE_QUEUED", "notes": []})

    def add_note(index: int) -> Callable[[], Any]:
        return lambda: store.update_body(name, lambda body: body["notes"].append(index))

    calls = [add_note(i) for i in range(THREADS)]
    calls += [lambda: store.mark_pending(name), lambda: store.mark_running(name)]
    results = race(calls)
    final = store.get(name)
    assert sorted(final.body["notes"]) == list(range(THREADS))
    assert final.revision == THREADS + sum(1 for r in results[THREADS:] if r is not None)
    assert results[THREADS] is not None  # QUEUED -> PENDING cannot lose to a body update


def test_a_move_from_an_old_record_decides_on_the_row_as_it_is(store: JobStore) -> None:
    name = f"{PARENT}/customJobs/old-record"
    store.insert("customJobs", PARENT, {"name": name, "state": "JOB_STATE_QUEUED"})
    pending = store.mark_pending(name)
    assert pending is not None
    running = store.mark_running(name, seen=pending)
    assert running is not None and running.state == "JOB_STATE_RUNNING"
    # `pending` is old (PENDING -> SUCCEEDED is no move): the row, RUNNING, is what counts.
    store.set_handle(name, {"kind": "local", "replicas": []})
    ended = store.mark_succeeded(name, seen=pending)
    assert ended is not None and ended.state == "JOB_STATE_SUCCEEDED"
    assert ended.handle == {"kind": "local", "replicas": []}  # written after `pending`
    assert store.get(name).state == "JOB_STATE_SUCCEEDED"
    # An old record never undoes a terminal state either.
    assert store.mark_failed(name, Code.INTERNAL, "late", seen=running) is None
    assert store.get(name).state == "JOB_STATE_SUCCEEDED"


def test_a_write_beside_the_body_makes_an_older_record_stale(store: JobStore) -> None:
    name = running_job(store, "stale-handle")
    before = store.get(name)
    store.set_handle(name, {"kind": "local", "replicas": []})
    ended = store.mark_succeeded(name, seen=before)  # its compare-and-set fails, then reads
    assert ended is not None and ended.handle == {"kind": "local", "replicas": []}
    assert ended.revision == store.get(name).revision
