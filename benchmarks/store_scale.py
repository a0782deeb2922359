"""The API with 100,000 jobs stored: create and get p99, and a filtered first list page, on
SQLite and on PostgreSQL, in one run.

Fills a database through the store's own tables (ended jobs, a quarter of them labelled
team=a, states mixed, in one parent), starts `vertexd serve` on it, and times over HTTP:
N creates (jobs that fail at once: the package does not exist), N gets of stored jobs, and
M first pages of `state="JOB_STATE_SUCCEEDED" AND labels.team="a"` (pageSize 100, newest
first). `--verbose` prints the database's query plan of that list query.

    python benchmarks/store_scale.py [--jobs 100000] [--postgres-url URL] [--verbose]

PostgreSQL: --postgres-url, else VERTEXD_TEST_POSTGRES_URL (`.ci/services/postgres.sh`);
without either only SQLite runs. Targets (issue "Throughput"): create/get p99 <= 20 ms, the
filtered first page <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from bench_server import start_server  # benchmarks/, beside this script
from sqlalchemy import create_engine, insert, text

from vertexd.store.db import make_engine, migrate
from vertexd.store.jobs import JobStore
from vertexd.store.listing import ListQuery, where_clauses
from vertexd.store.tables import labels, resources

PARENT = "projects/scale/locations/us-central1"
FILTER = 'state="JOB_STATE_SUCCEEDED" AND labels.team="a"'
STATES = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_SUCCEEDED")
BATCH = 5000
TARGETS = {"create": 20.0, "get": 20.0, "list": 50.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200, help="creates and gets each")
    parser.add_argument("--lists", type=int, default=50)
    parser.add_argument("--postgres-url", default=os.environ.get("VERTEXD_TEST_POSTGRES_URL", ""))
    parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        databases = {"sqlite": f"sqlite:///{scratch}/scale.db"}
        if options.postgres_url:
            databases["postgresql"] = fresh_postgres(options.postgres_url)
        for kind, url in databases.items():
            run_one(kind, url, Path(scratch) / kind, options)


def fresh_postgres(admin_url: str) -> str:
    name = f"vertexd_scale_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def run_one(kind: str, url: str, home: Path, options: argparse.Namespace) -> None:
    engine = make_engine(url)
    migrate(engine)
    started = time.monotonic()
    names = fill(engine, options.jobs)
    print(f"[{kind}] stored {options.jobs} jobs in {time.monotonic() - started:.1f} s")
    if options.verbose:
        print_plan(kind, engine)
    engine.dispose()
    server, client = start_server(
        home, "--database-url", url, "--cpus", "64", "--memory-gb", "1000"
    )
    try:
        times = {
            "create": [timed(lambda: create(client)) for _ in range(options.calls)],
            "get": [
                timed(lambda n=n: get(client, n))
                for n in names[:: max(1, len(names) // options.calls)]
            ],
            "list": [timed(lambda: first_page(client)) for _ in range(options.lists)],
        }
    finally:
        server.terminate()
        server.wait(timeout=60)
    report(kind, times)


def fill(engine: Any, count: int) -> list[str]:
    """Ended jobs, straight into the store's tables (what a long-lived server holds)."""
    start = datetime.now(UTC) - timedelta(days=30)
    names = []
    with engine.begin() as conn:
        for first in range(0, count, BATCH):
            rows, label_rows = [], []
            for number in range(first, min(count, first + BATCH)):
                name = f"{PARENT}/customJobs/{10**12 + number}"
                stamp = start + timedelta(seconds=number * 20)
                state = STATES[number % len(STATES)]
                team = "a" if number % 4 == 0 else "b"
                body = {
                    "name": name,
                    "displayName": f"job-{number}",
                    "state": state,
                    "labels": {"team": team},
                }
                rows.append(job_row(name, state, stamp, body))
                label_rows.append({"resource_name": name, "key": "team", "value": team})
                names.append(name)
            conn.execute(insert(resources), rows)
            conn.execute(insert(labels), label_rows)
    return names


def job_row(name: str, state: str, stamp: datetime, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name, "kind": "customJobs", "parent": PARENT, "display_name": body["displayName"],
        "state": state, "create_time": stamp, "update_time": stamp, "body": body,
        "attempt": 1, "revision": 3,
    }  # fmt: skip


def print_plan(kind: str, engine: Any) -> None:
    query = ListQuery(filter=FILTER, page_size=100)
    stmt = JobStore.list_statement("customJobs", PARENT, query)
    compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if kind == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        plan = conn.execute(text(explain + str(compiled))).all()
    print(f"[{kind}] plan of the filtered first page ({where_clauses(query) and FILTER}):")
    for row in plan:
        print("   ", " ".join(str(part) for part in row))


def create(client: httpx.Client) -> None:
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "1",
        "pythonPackageSpec": {
            "executorImageUri": "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest",
            "packageUris": ["gs://scale/none-0.1-py3-none-any.whl"],
            "pythonModule": "none.task",
        },
    }
    job = {"displayName": "new", "labels": {"team": "a"}, "jobSpec": {"workerPoolSpecs": [pool]}}
    client.post(f"/v1/{PARENT}/customJobs", json=job).raise_for_status()


def get(client: httpx.Client, name: str) -> None:
    client.get(f"/v1/{name}").raise_for_status()


def first_page(client: httpx.Client) -> None:
    answer = client.get(f"/v1/{PARENT}/customJobs", params={"filter": FILTER, "pageSize": 100})
    answer.raise_for_status()
    assert len(answer.json()["customJobs"]) == 100


def timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def report(kind: str, times: dict[str, list[float]]) -> None:
    for what, values in times.items():
        p99 = statistics.quantiles(values, n=100)[98] if len(values) > 2 else max(values)
        median = statistics.median(values)
        figure = p99 if what != "list" else median
        verdict = "meets" if figure <= TARGETS[what] else "misses"
        label = "p99" if what != "list" else "median"
        print(
            f"[{kind}] {what:6}: median {median:6.1f} ms, p99 {p99:6.1f} ms "
            f"({label} / target {TARGETS[what]:g} ms = {figure / TARGETS[what]:.2f}, {verdict})"
        )


if __name__ == "__main__":
    main()
