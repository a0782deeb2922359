"""List filters answer the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from vertexd.store.db import make_engine, migrate
from vertexd.store.jobs import JobStore
from vertexd.store.listing import ListQuery

PARENT = "projects/p/locations/l"


@pytest.fixture
def store(database_url: str) -> Iterator[JobStore]:
    engine = make_engine(database_url)
    migrate(engine)
    jobs = JobStore(engine)
    for index, display in enumerate(["Alpha", "alpha", "BETA"]):
        body = {"name": f"{PARENT}/customJobs/{index}", "displayName": display, "state": ""}
        jobs.insert("customJobs", PARENT, body)
    yield jobs
    engine.dispose()


def names(store: JobStore, filter_: str) -> list[str]:
    bodies, _ = store.list_page("customJobs", PARENT, ListQuery(filter_, 0, "", "displayName"))
    return [body["displayName"] for body in bodies]


def test_has_matches_ignore_case(store: JobStore) -> None:
    assert names(store, "display_name:alp*") == ["Alpha", "alpha"]
    assert names(store, 'display_name="alpha"') == ["alpha"]  # equality stays exact


def test_times_with_any_offset_compare_as_instants(store: JobStore) -> None:
    half_an_hour_ago = datetime.now(UTC) - timedelta(minutes=30)
    in_paris = half_an_hour_ago.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert len(names(store, f'create_time>"{in_paris}"')) == 3
    assert names(store, f'create_time<"{in_paris}"') == []
