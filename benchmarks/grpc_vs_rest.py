"""Create+get latency of a CustomJob over gRPC and over REST, in one run.

Starts a real `vertexd serve` (gRPC with its private CA, REST on plain HTTP) in a temporary
home and times the same GAPIC `JobServiceClient` on each transport: `create_custom_job` then
`get_custom_job`, the two calls the SDK's `run()` starts with. The transports alternate, so
background work (the jobs fail at once: their package does not exist) weighs on both.

    python benchmarks/grpc_vs_rest.py [--calls 50]

Prints the medians and their ratio; asserts nothing.
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
from pathlib import Path

import httpx

PARENT = "projects/bench/locations/us-central1"
EXECUTOR = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest"
JOB = {
    "display_name": "bench",
    "job_spec": {
        "worker_pool_specs": [
            {
                "machine_spec": {"machine_type": "n1-standard-4"},
                "replica_count": 1,
                "python_package_spec": {
                    "executor_image_uri": EXECUTOR,
                    "package_uris": ["gs://bench/missing-0.1-py3-none-any.whl"],
                    "python_module": "missing.task",
                },
            }
        ]
    },
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(home: Path, port: int, grpc_port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "vertexd", "serve", "--home", str(home)]
    command += ["--port", str(port), "--grpc-port", str(grpc_port), "--cpus", "64"]
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=log)
    for _ in range(1200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz")
            return server
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError((home / "server.log").read_text())


def clients(port: int, grpc_port: int) -> dict[str, object]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    def client(endpoint: str, transport: str) -> object:
        return aiplatform.gapic.JobServiceClient(
            client_options={"api_endpoint": endpoint},
            credentials=AnonymousCredentials(),
            transport=transport,
        )

    return {
        "gRPC": client(f"localhost:{grpc_port}", "grpc"),
        "REST": client(f"http://127.0.0.1:{port}", "rest"),
    }


def create_and_get(client: object) -> float:
    started = time.perf_counter()
    job = client.create_custom_job(parent=PARENT, custom_job=JOB)  # type: ignore[attr-defined]
    client.get_custom_job(name=job.name)  # type: ignore[attr-defined]
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="create+get pairs per transport")
    calls = parser.parse_args().calls
    with tempfile.TemporaryDirectory(prefix="vertexd-grpc-bench-") as tmp:
        home = Path(tmp)
        # Read by grpc when it makes its first secure channel: before any client exists.
        os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(home / "tls" / "ca.pem")
        port, grpc_port = free_port(), free_port()
        server = start_server(home, port, grpc_port)
        try:
            by_transport = clients(port, grpc_port)
            for client in by_transport.values():  # warm up: connections, first calls
                create_and_get(client)
            times: dict[str, list[float]] = {name: [] for name in by_transport}
            for _ in range(calls):
                for name, client in by_transport.items():
                    times[name].append(create_and_get(client))
        finally:
            server.terminate()
            server.wait(timeout=60)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:5} create+get median {median:7.2f} ms over {calls} calls")
    print(f"REST/gRPC ratio: {medians['REST'] / medians['gRPC']:.2f}")


if __name__ == "__main__":
    main()
