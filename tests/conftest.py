"""Shared fixtures: a real `vertexd serve` process on a free port, and tiny training packages."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# Every server the tests start shares one uv cache: environments are built from it, not PyPI.
os.environ.setdefault("UV_CACHE_DIR", str(Path(tempfile.gettempdir()) / "vertexd-tests-uv-cache"))

PARENT = "projects/test-project/locations/us-central1"
SKLEARN = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A `vertexd serve` subprocess; `restart(kill=True)` is a crash, not a shutdown."""

    def __init__(self, home: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.home, self.extra, self.env = home, extra, env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def start(self) -> None:
        command = [sys.executable, "-m", "vertexd", "serve", "--port", str(self.port)]
        log = (self.home / "server.log").open("ab")
        env = {**os.environ, "VERTEXD_HOME": str(self.home), **self.env}
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [*command, "--home", str(self.home), *self.extra], stdout=log, stderr=log, env=env
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError((self.home / "server.log").read_text())

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        self.process.wait(timeout=60)
        self.process = None

    def restart(self, kill: bool = False) -> None:
        self.stop(kill)
        self.start()

    # -- REST helpers ----------------------------------------------------------------------
    def create(self, job: dict, parent: str = PARENT) -> httpx.Response:
        return self.client.post(f"/v1/{parent}/customJobs", json=job)

    def get(self, name: str) -> dict:
        response = self.client.get(f"/v1/{name}")
        response.raise_for_status()
        return dict(response.json())

    def wait_for(self, name: str, *states: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(name)
            if job["state"] in states:
                return job
            time.sleep(0.05)
        raise AssertionError(f"{name} never reached {states}: {job}")

    def logs(self, name: str, task: str | None = None) -> list[dict]:
        params = {"taskName": task} if task else {}
        response = self.client.get(f"/v1/{name}/logs", params=params)
        response.raise_for_status()
        return list(response.json()["entries"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("home"), "--cpus", "64", "--memory-gb", "4096")
    running.start()
    yield running
    running.stop()


def write_wheel(
    directory: Path,
    name: str,
    modules: dict[str, str],
    version: str = "0.1",
    requires: list[str] | None = None,
) -> Path:
    """A pure-Python wheel made by hand: modules {"pkg/task.py": source}."""
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, source in modules.items():
            archive.writestr(path, source)
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        metadata += "".join(f"Requires-Dist: {r}\n" for r in requires or [])
        archive.writestr(f"{info}/METADATA", metadata)
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        records = [*modules, f"{info}/METADATA", f"{info}/WHEEL"]
        archive.writestr(
            f"{info}/RECORD", "".join(f"{p},,\n" for p in records) + f"{info}/RECORD,,\n"
        )
    return wheel


def python_job(
    module: str, package_uri: str, args: list[str] | None = None, **spec: object
) -> dict:
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "1",
        "pythonPackageSpec": {
            "executorImageUri": SKLEARN,
            "packageUris": [package_uri],
            "pythonModule": module,
            "args": args or [],
        },
    }
    return {"displayName": f"test-{module}", "jobSpec": {"workerPoolSpecs": [pool], **spec}}
