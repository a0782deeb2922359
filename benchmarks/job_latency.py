"""Submit->RUNNING latency and end-to-end overhead of a trivial CustomJob, in one run.

Starts a real `vertexd serve` in a temporary home, warms the Python environment once, then
submits N trivial jobs (`python -m this`) one after another and compares each with running
`python -m this` directly in the same environment.

    python benchmarks/job_latency.py [--jobs 20]

Targets: overhead <= 150 ms, submit->RUNNING (cached environment) <= 100 ms (issue "Core");
overhead <= 20 ms (issue "Throughput").
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
from datetime import datetime
from pathlib import Path

import httpx

PARENT = "projects/bench/locations/us-central1"
EXECUTOR = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest"
TRIVIAL_JOB = {
    "displayName": "trivial",
    "jobSpec": {
        "workerPoolSpecs": [
            {
                "machineSpec": {"machineType": "n1-standard-4"},
                "replicaCount": "1",
                "pythonPackageSpec": {"executorImageUri": EXECUTOR, "pythonModule": "this"},
            }
        ]
    },
}
TARGET_OVERHEAD_MS, TARGET_SUBMIT_MS = 150.0, 100.0
TARGET_THROUGHPUT_OVERHEAD_MS = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    port = free_port()
    command = [sys.executable, "-m", "vertexd", "serve", "--home", str(home), "--port", str(port)]
    log = (home / "server.log").open("wb")
    server = subprocess.Popen([*command, "--cpus", "64"], stdout=log, stderr=log)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    for _ in range(600):
        try:
            client.get("/healthz")
            return server, client
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def run_job(client: httpx.Client) -> dict[str, float]:
    """Client-side seconds to RUNNING and to SUCCEEDED, and the server's own timestamps."""
    started = time.perf_counter()
    name = client.post(f"/v1/{PARENT}/customJobs", json=TRIVIAL_JOB).json()["name"]
    seen_running = None
    while True:
        job = client.get(f"/v1/{name}").json()
        if seen_running is None and job["state"] in ("JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"):
            seen_running = time.perf_counter() - started
        if job["state"] in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED"):
            break
        time.sleep(0.002)
    assert job["state"] == "JOB_STATE_SUCCEEDED", job
    total = time.perf_counter() - started

    def stamp(key: str) -> float:
        return datetime.fromisoformat(job[key].replace("Z", "+00:00")).timestamp()

    return {
        "client_running": seen_running or total,
        "client_total": total,
        "server_running": stamp("startTime") - stamp("createTime"),
        "server_total": stamp("endTime") - stamp("createTime"),
    }


def run_direct(python: Path) -> float:
    started = time.perf_counter()
    subprocess.run([str(python), "-m", "this"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    count = parser.parse_args().jobs
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        server, client = start_server(home)
        try:
            run_job(client)  # builds the environment once
            python = next((home / "envs").glob("sklearn-cpu-*/bin/python"))
            jobs = [run_job(client) for _ in range(count)]
            direct = [run_direct(python) for _ in range(count)]
        finally:
            server.terminate()
            server.wait()
    report(jobs, direct)


def report(jobs: list[dict[str, float]], direct: list[float]) -> None:
    def median_ms(key: str) -> float:
        return statistics.median(job[key] for job in jobs) * 1000

    direct_ms = statistics.median(direct) * 1000
    overhead_ms = median_ms("client_total") - direct_ms
    print(f"cores: {os.cpu_count()}, jobs: {len(jobs)} (medians)")
    print(f"python -m this, run directly:          {direct_ms:8.1f} ms")
    print(f"same as a CustomJob, submit->SUCCEEDED: {median_ms('client_total'):8.1f} ms")
    print(f"  ratio job / direct:                   {median_ms('client_total') / direct_ms:8.2f}")
    print(f"  overhead (job - direct):              {overhead_ms:8.1f} ms")
    print(f"    overhead / target {TARGET_OVERHEAD_MS:.0f} ms:           "
          f"{overhead_ms / TARGET_OVERHEAD_MS:8.2f}")  # fmt: skip
    print(f"    overhead / target {TARGET_THROUGHPUT_OVERHEAD_MS:.0f} ms (throughput): "
          f"{overhead_ms / TARGET_THROUGHPUT_OVERHEAD_MS:5.2f}")  # fmt: skip
    print(f"submit->SUCCEEDED by the job's own times: {median_ms('server_total'):6.1f} ms "
          f"(the rest is the client's polling)")  # fmt: skip
    print(f"submit->RUNNING seen by the client:     {median_ms('client_running'):8.1f} ms")
    print(f"submit->RUNNING by the job's own times: {median_ms('server_running'):8.1f} ms")
    print(f"    client submit->RUNNING / target {TARGET_SUBMIT_MS:.0f} ms: "
          f"{median_ms('client_running') / TARGET_SUBMIT_MS:8.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
