"""API latency of create, get and the first list page, idle and while 500 trivial jobs run.

Starts a real `vertexd serve --cpus 64 --memory-gb 1000` in a temporary home and runs one
trivial pythonPackageSpec job (a wheel made here whose module parses its arguments and exits)
so that its Python environment is cached. Then:

- idle: --idle-calls sequential creates (each job waited for before the next), gets and first
  list pages (50 rows, as the console asks);
- load: --jobs jobs created at once by --clients clients in parallel (their own latencies are
  shown as "burst": 50 clients queueing at once), while a probe client, as a user or the
  console would, creates a job, gets a random one and lists the first page, every 20 ms,
  until every job has ended. Every job must reach SUCCEEDED; the others are counted.

    python benchmarks/api_under_load.py [--jobs 500] [--clients 50] [--idle-calls 50]

The probe's calls are shown twice: all of them, and only those made after the burst's last
create answered (the jobs start and run; the probe no longer queues behind 50 clients).

Targets (2 cores, the probe's calls while the jobs run): create and get p99 <= 50 ms, first
list page p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from distributed_start import free_port, write_wheel  # benchmarks/, beside this script
from light_http import Client, HttpError

JOBS = "projects/bench/locations/us-central1/customJobs"
EXECUTOR = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest"
PACKAGE = "gs://bench/packages/bench_task-0.1-py3-none-any.whl"
TASK_SOURCE = "import argparse\nparser = argparse.ArgumentParser()\n"
TASK_SOURCE += "parser.add_argument('--index', type=int, required=True)\nparser.parse_args()\n"
SUCCEEDED, LOST = "JOB_STATE_SUCCEEDED", "NOT FOUND"
ENDED = (SUCCEEDED, "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", LOST)
PAGE_SIZE = 50  # src/vertexd/console/static/js/list.js: PAGE_SIZE
TARGETS_MS = {"create": 50.0, "get": 50.0, "list": 100.0}
PROBE_PAUSE_SECONDS = 0.02
MAX_LIST, LOOK_BACK_SECONDS, LOST_SECONDS = 1000, 0.5, 30.0  # the waiter's (wait_ended)
# The waiter's pause between looks: the shortest (near the end, and for a few jobs), the
# longest (while many are left), and how many jobs are "a few".
SHORT_LOOK, LONG_LOOK, FEW_LEFT = 0.05, 0.5, 20


ROOM_FOR_ALL = ("--cpus", "64", "--memory-gb", "1000")


def start_server(
    home: Path, capacity: tuple[str, ...] = ROOM_FOR_ALL
) -> tuple[subprocess.Popen[bytes], str]:
    write_wheel(home / "buckets" / "bench" / "packages", TASK_SOURCE)
    url = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "vertexd", "serve", "--home", str(home)]
    command += ["--port", url.rsplit(":", 1)[1], *capacity]
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=log)
    for _ in range(1200):
        try:
            with Client(url) as client:
                client.get("/healthz").raise_for_status()
            return server, url
        except HttpError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not start: {(home / 'server.log').read_text()}")


def trivial_job(index: int) -> dict[str, Any]:
    package = {"executorImageUri": EXECUTOR, "packageUris": [PACKAGE]}
    package |= {"pythonModule": "bench_task.main", "args": ["--index", str(index)]}
    pool = {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1"}
    pools = [{**pool, "pythonPackageSpec": package}]
    return {"displayName": f"load-{index}", "jobSpec": {"workerPoolSpecs": pools}}


@dataclass
class Run:
    """Milliseconds of each kind of call, jobs created, failed calls; for the load run: the jobs
    as they ended, seconds from first create to last end, CPU seconds (server, replicas, us)."""

    ms: dict[str, list[float]] = field(
        default_factory=lambda: {k: [] for k in [*TARGETS_MS, "burst"]}
    )
    names: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ended: list[dict[str, Any]] = field(default_factory=list)
    wall: float = 0.0
    # When each call of ms started (perf_counter), and when the burst's last create answered.
    starts: dict[str, list[float]] = field(default_factory=dict)
    burst_done: float = 0.0
    cpu: list[float] = field(default_factory=list)

    def call(self, kind: str, client: Client, method: str, url: str, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            response = client.request(method, url, **kw).raise_for_status()
        except HttpError as exc:
            self.errors.append(f"{kind} {url}: {exc!r}")
            return None
        self.ms[kind].append((time.perf_counter() - started) * 1000)
        self.starts.setdefault(kind, []).append(started)
        return response.json()

    def create(self, client: Client, index: int, kind: str = "create") -> None:
        body = self.call(kind, client, "POST", f"/v1/{JOBS}", json=trivial_job(index))
        if body is not None:
            self.names.append(body["name"])

    def get_any(self, client: Client) -> None:
        if not self.names:  # nothing created yet
            time.sleep(0.005)
            return
        self.call("get", client, "GET", f"/v1/{random.choice(self.names)}")

    def list_page(self, client: Client) -> None:
        self.call("list", client, "GET", f"/v1/{JOBS}", params={"pageSize": PAGE_SIZE})


def wait_ended(client: Client, names: list[str]) -> list[dict[str, Any]]:
    """Every job's final body, in the order of `names`. As a user waiting for many jobs would
    ask: one list call per look for the jobs that ended lately (not a get per job), pages of
    MAX_LIST. The look names the create time of the first job (less a margin), so that the
    store reads only the rows of these jobs, not all it holds. Looks come every 50 ms near
    the end (the last end is what a run's seconds are timed to) and up to 0.5 s apart while
    many jobs are left: each costs the server a list call, which is this benchmark's own load,
    not the jobs'. A job still missing after LOST_SECONDS without news is got one by one:
    gone (404) counts as lost."""
    if not names:
        return []
    pending, ended = set(names), {}
    first = client.get(f"/v1/{names[0]}").raise_for_status().json()["createTime"]
    created_from = _earlier(first, LOOK_BACK_SECONDS * 20)  # (names are about in create order)
    since, last_news, began = "1970-01-01T00:00:00Z", time.monotonic(), time.monotonic()
    while pending:
        newest = since
        for body in _ended_since(client, created_from, since):
            newest = max(newest, body["updateTime"])
            if body["name"] in pending:
                pending.discard(body["name"])
                ended[body["name"]] = body
                last_news = time.monotonic()
        # A later look asks again from a little before the newest end seen: a job whose end
        # was stamped earlier may commit later.
        since = _earlier(newest, LOOK_BACK_SECONDS)
        if pending and time.monotonic() - last_news > LOST_SECONDS:
            for name in list(pending):
                if client.get(f"/v1/{name}").status_code == 404:
                    pending.discard(name)
                    ended[name] = {"name": name, "state": LOST}
            last_news = time.monotonic()
        if pending:
            time.sleep(_pause(len(pending), len(ended), time.monotonic() - began))
    return [ended[name] for name in names]


def _pause(pending: int, ended: int, seconds: float) -> float:
    """A tenth of the time the jobs left should take at the rate seen so far, within
    SHORT_LOOK..LONG_LOOK (short for a few jobs)."""
    if pending <= FEW_LEFT:
        return SHORT_LOOK
    left = pending * seconds / ended if ended else LONG_LOOK * 10
    return min(LONG_LOOK, max(SHORT_LOOK, left / 10))


def _ended_since(client: Client, created_from: str, since: str) -> list[dict[str, Any]]:
    ended = " OR ".join(f'state="{state}"' for state in ENDED if state != LOST)
    times = f'create_time>="{created_from}" AND update_time>="{since}"'
    params = {"filter": f"({ended}) AND {times}", "pageSize": MAX_LIST}
    bodies: list[dict[str, Any]] = []
    while True:
        page = client.get(f"/v1/{JOBS}", params=params).raise_for_status().json()
        bodies += page.get("customJobs", [])
        if not page.get("nextPageToken"):
            return bodies
        params["pageToken"] = page["nextPageToken"]


def _earlier(stamp: str, seconds: float) -> str:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) - timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def idle(client: Client, calls: int) -> Run:
    """Sequential calls with no job running: each created job is waited for before the next."""
    warm = Run()
    warm.create(client, -1)
    ended = wait_ended(client, warm.names)  # builds the Python environment once
    assert ended[0]["state"] == SUCCEEDED, (ended, warm.errors)
    run = Run()
    for index in range(calls):
        run.create(client, index)
        wait_ended(client, run.names[-1:])
    for _ in range(calls):
        run.get_any(client)
        run.list_page(client)
    return run


def creator(url: str, run: Run, indexes: range, start: threading.Barrier) -> None:
    with Client(url) as client:
        start.wait()
        for index in indexes:
            run.create(client, index, kind="burst")


def prober(url: str, run: Run, stop: threading.Event) -> None:
    """What a user and the console do meanwhile: a create, a get and a list every 20 ms."""
    with Client(url) as client:
        index = 10**6
        while not stop.is_set():
            run.create(client, index)
            run.get_any(client)
            run.list_page(client)
            index += 1
            time.sleep(PROBE_PAUSE_SECONDS)


def load(url: str, pid: int, jobs: int, clients: int, probe: bool = True) -> Run:
    """Creates by all clients at once while the probe loops (unless not `probe`), until every
    job has ended."""
    cpu_before = cpu_seconds(pid)
    run, start, stop = Run(), threading.Barrier(clients + 1), threading.Event()
    with ThreadPoolExecutor(clients + 2) as pool, Client(url) as client:
        readers = [pool.submit(prober, url, run, stop)] if probe else []
        shares = [range(i, jobs, clients) for i in range(clients)]
        creators = [pool.submit(creator, url, run, share, start) for share in shares]
        try:
            start.wait()
            started = time.perf_counter()
            for future in creators:
                future.result()
            run.burst_done = time.perf_counter()
            run.ended = wait_ended(client, run.names[:])  # the 500 and the probe's so far
            run.wall = time.perf_counter() - started
        finally:
            stop.set()
        for future in readers:
            future.result()
    run.cpu = [after - then for after, then in zip(cpu_seconds(pid), cpu_before, strict=True)]
    return run


def cpu_seconds(pid: int) -> tuple[float, float, float]:
    """CPU seconds of vertexd (the server, its engine process and the helpers that live on:
    fork servers), of what they reaped (replicas, with their runners), and of this process.
    Read between runs, when no replica is alive: every live process under the server is
    vertexd's."""
    server, here = psutil.Process(pid), psutil.Process().cpu_times()
    itself = reaped = 0.0
    for process in [server, *server.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            itself += times.user + times.system
            reaped += times.children_user + times.children_system
    return itself, reaped, here.user + here.system


def percentiles(values: list[float]) -> tuple[float, float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[89], cuts[98], max(values)


def after_burst(run: Run, kind: str) -> list[float]:
    """The calls of that kind that started after the burst's last create had answered."""
    starts = run.starts.get(kind, [])
    return [ms for ms, at in zip(run.ms[kind], starts, strict=True) if at >= run.burst_done]


def row(kind: str, idle_ms: list[float], load_ms: list[float]) -> str:
    def cells(values: list[float]) -> str:
        return f"{len(values):6} " + " ".join(f"{v:7.1f}" for v in percentiles(values))

    ratio = percentiles(load_ms)[2] / TARGETS_MS[kind]
    return f"{kind:7}{cells(idle_ms)}  {cells(load_ms)}  {TARGETS_MS[kind]:6.0f} {ratio:7.2f}"


def report(idle: Run, run: Run, jobs: int, clients: int) -> None:
    itself, replicas, here = run.cpu
    print(f"cores: {os.cpu_count()}; under load: {jobs} jobs created by {clients} clients at "
          f"once; a probe client creates, gets and lists ({PAGE_SIZE} a page) every "
          f"{PROBE_PAUSE_SECONDS * 1000:.0f} ms meanwhile")  # fmt: skip
    head = f"{'n':>6} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}"
    print(f"{'':7}{'idle (ms)':^38}  {'under load (ms)':^38}  {'target':>6} {'p99 /':>7}")
    print(f"{'call':7}{head}  {head}  {'p99 ms':>6} {'target':>7}")
    for kind in TARGETS_MS:
        print(row(kind, idle.ms[kind], run.ms[kind]))
    print("the same calls, only those after the burst's last create answered (the jobs run):")
    for kind in TARGETS_MS:
        print(row(kind, idle.ms[kind], after_burst(run, kind)))
    burst = percentiles(run.ms["burst"])
    print(f"the burst's own creates ({clients} clients at once): p50 {burst[0]:.0f} ms, "
          f"p99 {burst[2]:.0f} ms, max {burst[3]:.0f} ms")  # fmt: skip
    failed = [body for body in run.ended if body["state"] != SUCCEEDED]
    created = len(run.ms["burst"])
    print(f"{len(run.ended) - len(failed)}/{len(run.ended)} jobs SUCCEEDED ({created} of the "
          f"burst, {len(run.ended) - created} of the probe), {len(failed)} ended otherwise, "
          f"{jobs - created} not created; wall {run.wall:.1f} s, "
          f"{created / run.wall:.1f} burst jobs/s")  # fmt: skip
    for body in failed:
        print(f"  {body['name']}: {body['state']} {body.get('error', '')}")
    for error in idle.errors + run.errors:
        print(f"  failed call: {error}")
    per_job = 1000 / jobs
    print(f"CPU: vertexd {itself:.1f} s (server, engine, fork servers) + {replicas:.1f} s "
          f"replicas = {(itself + replicas) * per_job:.0f} ms a job ({itself * per_job:.0f} ms "
          f"vertexd); this benchmark's clients: {here:.1f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--idle-calls", type=int, default=50)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(Path(tmp))
        try:
            with Client(url) as client:
                idle_run = idle(client, options.idle_calls)
            load_run = load(url, server.pid, options.jobs, options.clients)
        finally:
            server.terminate()
            server.wait()
    report(idle_run, load_run, options.jobs, options.clients)


if __name__ == "__main__":
    main()
