"""Submit->all-replicas-RUNNING of a 3-replica CustomJob (chief + 2 workers) on the local
backend and on the Ray backend, and Ray Jobs' own submit->RUNNING, in one run.

Starts a three-node Ray cluster on this machine (127.0.0.2, .3, .4; dashboard on a free
port), a `vertexd serve` on the local backend and one with `--backend ray` on that cluster,
warms each once (Python environment, Ray workers), then times N submissions of each:

- vertexd: from POST to the job's state RUNNING (every replica started by the backend), and
  to the first line printed by each of the 3 replicas (their processes really run);
- Ray Jobs: `JobSubmissionClient.submit_job` to `get_job_status() == RUNNING` (its
  entrypoint process started), on the same cluster.

    python benchmarks/distributed_start.py [--runs 5]

The Ray backend runs twice: with its warm actor pool (the default, 2 idle actors per node)
and without (`--ray-warm-actors 0`, every replica waits for a new actor process).

Targets: the local backend at most 1/10 of Ray Jobs' time (issue "Distributed training");
the Ray backend with its warm pool at most 1/5 (issue "Throughput").
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

PARENT = "projects/bench/locations/us-central1"
EXECUTOR = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest"
PACKAGE = "gs://bench/packages/bench_task-0.1-py3-none-any.whl"
TASK_SOURCE = (
    "import sys, time\nprint('replica running', flush=True)\ntime.sleep(float(sys.argv[1]))\n"
)
NODES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
TARGETS = {"local": 0.1, "ray": 0.2}  # of Ray Jobs' submit->RUNNING
Seconds = dict[str, float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_wheel(directory: Path, source: str = TASK_SOURCE) -> None:
    """bench_task-0.1, whose module bench_task.main is `source`."""
    directory.mkdir(parents=True, exist_ok=True)
    info = "bench_task-0.1.dist-info"
    files = {
        "bench_task/__init__.py": "",
        "bench_task/main.py": source,
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: bench_task\nVersion: 0.1\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    with zipfile.ZipFile(directory / "bench_task-0.1-py3-none-any.whl", "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{info}/RECORD", "".join(f"{p},,\n" for p in [*files, f"{info}/RECORD"]))


def three_replica_job(sleep_seconds: float) -> dict[str, Any]:
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "pythonPackageSpec": {
            "executorImageUri": EXECUTOR,
            "packageUris": [PACKAGE],
            "pythonModule": "bench_task.main",
            "args": [str(sleep_seconds)],
        },
    }
    pools = [{**pool, "replicaCount": "1"}, {**pool, "replicaCount": "2"}]
    return {"displayName": "bench-3-replicas", "jobSpec": {"workerPoolSpecs": pools}}


# -- processes ---------------------------------------------------------------------------------
def start_ray_cluster() -> tuple[Any, str, float]:
    from ray.cluster_utils import Cluster

    started = time.perf_counter()
    dashboard_port = free_port()
    node: dict[str, Any] = {"num_cpus": 8, "memory": 64 * 10**9}
    head = {**node, "node_ip_address": NODES[0], "include_dashboard": True}
    head.update(dashboard_host="127.0.0.1", dashboard_port=dashboard_port)
    cluster = Cluster(initialize_head=True, head_node_args=head)
    for address in NODES[1:]:
        cluster.add_node(**node, node_ip_address=address)
    cluster.wait_for_nodes()
    return cluster, f"http://127.0.0.1:{dashboard_port}", time.perf_counter() - started


def start_server(home: Path, *extra: str) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [sys.executable, "-m", "vertexd", "serve", "--home", str(home), "--port", str(port)]
    log = (home / "server.log").open("wb")
    server = subprocess.Popen([*command, *extra], stdout=log, stderr=log)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    for _ in range(1200):
        try:
            client.get("/healthz").raise_for_status()
            write_wheel(home / "buckets" / "bench" / "packages")
            return server, client
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not start: {(home / 'server.log').read_text()}")


# -- timings -----------------------------------------------------------------------------------
def vertexd_start(client: httpx.Client) -> Seconds:
    """Seconds from POST to state RUNNING, and to a first line from each of the 3 replicas."""
    started = time.perf_counter()
    response = client.post(f"/v1/{PARENT}/customJobs", json=three_replica_job(60))
    name = response.json()["name"]
    running = printed = None
    offset, tasks = 0, set()
    while running is None or printed is None:
        if running is None:
            state = client.get(f"/v1/{name}").json()["state"]
            if state == "JOB_STATE_RUNNING":
                running = time.perf_counter() - started
            elif state in ("JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED", "JOB_STATE_CANCELLED"):
                raise RuntimeError(f"{name} ended {state}: {client.get(f'/v1/{name}').json()}")
        page = client.get(f"/v1/{name}/logs", params={"offset": offset}).json()
        offset = int(page.get("nextOffset", offset))
        tasks |= {e["taskName"] for e in page["entries"] if e["text"] == "replica running"}
        if printed is None and len(tasks) == 3:
            printed = time.perf_counter() - started
        time.sleep(0.002)
    client.post(f"/v1/{name}:cancel")
    while client.get(f"/v1/{name}").json()["state"] != "JOB_STATE_CANCELLED":
        time.sleep(0.05)
    return {"running": running, "printed": printed}


def ray_jobs_start(address: str) -> Seconds:
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(address)
    entrypoint = (
        f"{sys.executable} -c \"print('running', flush=True); import time; time.sleep(60)\""
    )
    started = time.perf_counter()
    job_id = client.submit_job(entrypoint=entrypoint)
    while (status := client.get_job_status(job_id)) != JobStatus.RUNNING:
        if status.is_terminal():
            raise RuntimeError(f"Ray job {job_id} ended {status}: {client.get_job_logs(job_id)}")
        time.sleep(0.002)
    running = time.perf_counter() - started
    client.stop_job(job_id)
    while not client.get_job_status(job_id).is_terminal():
        time.sleep(0.05)
    return {"running": running}


def timed(runs: int, once: Callable[[], Seconds]) -> list[Seconds]:
    once()  # warm: environments built, Ray worker processes started
    return [once() for _ in range(runs)]


# -- report ------------------------------------------------------------------------------------
def median_ms(samples: list[Seconds], key: str) -> float:
    return statistics.median(sample[key] for sample in samples) * 1000


def report(results: dict[str, list[Seconds]], cluster_seconds: float) -> None:
    ray_jobs = median_ms(results["ray-jobs"], "running")
    runs = len(results["ray-jobs"])
    print(f"cores: {os.cpu_count()}; Ray cluster of {len(NODES)} nodes started in "
          f"{cluster_seconds:.1f} s; {runs} runs each (medians)")  # fmt: skip
    print(f"{'':44} {'ms':>9} {'/ Ray Jobs':>11}")
    print(f"{'Ray Jobs: submit->RUNNING (1 process)':44} {ray_jobs:9.1f} {1:11.3f}")
    for backend in ("local", "ray", "ray-cold"):
        for key, what in (("running", "state RUNNING"), ("printed", "3 replicas printed")):
            value = median_ms(results[backend], key)
            label = f"vertexd {backend}: submit->{what}"
            print(f"{label:44} {value:9.1f} {value / ray_jobs:11.3f}")
    for backend, target in TARGETS.items():
        ratio = median_ms(results[backend], "running") / ray_jobs
        verdict = "met" if ratio <= target else "NOT met"
        print(f"target {backend} <= {target:g} x Ray Jobs (state RUNNING): {ratio:.3f}, {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    cluster, dashboard, cluster_seconds = start_ray_cluster()
    servers: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local, local_client = start_server(Path(tmp, "local"), "--cpus", "64")
            ray_args = ("--backend", "ray", "--ray-address", cluster.address)
            on_ray, ray_client = start_server(Path(tmp, "ray"), *ray_args)
            cold = ("--ray-warm-actors", "0")
            on_ray_cold, cold_client = start_server(Path(tmp, "ray-cold"), *ray_args, *cold)
            servers += [local, on_ray, on_ray_cold]
            results = {
                "local": timed(runs, lambda: vertexd_start(local_client)),
                "ray": timed(runs, lambda: vertexd_start(ray_client)),
                "ray-cold": timed(runs, lambda: vertexd_start(cold_client)),
                "ray-jobs": timed(runs, lambda: ray_jobs_start(dashboard)),
            }
            for server in servers:
                server.terminate()
                server.wait()
    finally:
        for server in servers:
            server.kill()
        cluster.shutdown()
    report(results, cluster_seconds)


if __name__ == "__main__":
    main()
