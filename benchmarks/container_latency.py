"""Start latency of a trivial containerSpec job, against `docker run --rm` of the same image.

Needs an engine and the test images: `eval "$(bash .ci/services/docker.sh start)"`. Starts a
real `vertexd serve --container-engine $DOCKER_HOST` in a temporary home and submits N jobs
(`echo hi` in the busybox test image) one after another; for each: submit -> RUNNING (as the
API shows it), submit -> first log line, submit -> SUCCEEDED. Then times N `docker run --rm`.

    python benchmarks/container_latency.py [--jobs 10]
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

import httpx

PARENT = "projects/bench/locations/us-central1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def one_job(client: httpx.Client, image: str) -> tuple[float, float, float]:
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "1",
        "containerSpec": {"imageUri": image, "command": ["echo", "hi"]},
    }
    job = {"displayName": "bench", "jobSpec": {"workerPoolSpecs": [pool]}}
    sent = time.time()
    name = client.post(f"/v1/{PARENT}/customJobs", json=job).json()["name"]
    running = None
    while True:
        body = client.get(f"/v1/{name}").json()
        if running is None and body["state"] != "JOB_STATE_QUEUED":
            running = time.time() if body["state"] != "JOB_STATE_PENDING" else None
        if body["state"] in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED"):
            break
        time.sleep(0.005)
    assert body["state"] == "JOB_STATE_SUCCEEDED", body
    done = stamp(body["endTime"])
    entries = client.get(f"/v1/{name}/logs", params={"taskName": "workerpool0-0"}).json()
    first = stamp(entries["entries"][0]["time"])
    return (running or done) - sent, first - sent, done - sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10)
    options = parser.parse_args()
    engine = os.environ["DOCKER_HOST"]
    images = dict(i.split("=", 1) for i in os.environ["VERTEXD_TEST_IMAGES"].split(","))
    image = images["busybox"]
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        command = [sys.executable, "-m", "vertexd", "serve", "--home", home, "--port", str(port)]
        command += ["--container-engine", engine, "--cpus", "64"]
        server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        try:
            while True:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            one_job(client, image)  # warm-up
            runs = [one_job(client, image) for _ in range(options.jobs)]
        finally:
            server.terminate()
            server.wait()
    direct = []
    for _ in range(options.jobs):
        started = time.time()
        subprocess.run(["docker", "-H", engine, "run", "--rm", image], capture_output=True)
        direct.append(time.time() - started)
    for label, values in (
        ("submit -> RUNNING", [r[0] for r in runs]),
        ("submit -> first log line", [r[1] for r in runs]),
        ("submit -> SUCCEEDED (endTime)", [r[2] for r in runs]),
        ("docker run --rm (CLI, whole run)", direct),
    ):
        ms = [v * 1000 for v in values]
        print(f"{label:34} median {statistics.median(ms):6.0f} ms   max {max(ms):6.0f} ms")


if __name__ == "__main__":
    main()
