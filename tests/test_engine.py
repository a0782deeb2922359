"""The engine process (engine/): it lives and dies with the server, and the API says so when
it is gone, without losing a record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from conftest import PARENT, Server, python_job
from probe_package import probe_wheel

pytestmark = pytest.mark.slow

PROBE = "gs://test-bucket/packages/probe-0.1-py3-none-any.whl"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "home", "--cpus", "8")
    probe_wheel(server.home / "buckets" / "test-bucket" / "packages")
    server.start()
    yield server
    server.stop()


def _running_replica(server: Server, pid_file: Path) -> tuple[str, psutil.Process]:
    job = python_job("probe.task", PROBE, ["--sleep", "60", "--pid-file", str(pid_file)])
    name = server.create(job).json()["name"]
    server.wait_for(name, "JOB_STATE_RUNNING")
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline, "the replica did not start"
        time.sleep(0.05)
    return name, psutil.Process(json.loads(pid_file.read_text())["me"])


def test_a_killed_server_takes_its_engine_and_the_next_one_reattaches(
    server: Server, tmp_path: Path
) -> None:
    name, replica = _running_replica(server, tmp_path / "pids.json")
    engine = server.engine
    server.stop(kill=True)
    engine.wait(timeout=10)  # the kernel killed it with the server
    assert replica.is_running()  # as after any kill -9: left for the next server
    server.start()
    assert server.get(name)["state"] == "JOB_STATE_RUNNING"
    server.client.post(f"/v1/{name}:cancel").raise_for_status()
    assert server.wait_for(name, "JOB_STATE_CANCELLED")["state"] == "JOB_STATE_CANCELLED"
    replica.wait(timeout=30)


def test_the_api_comes_first_then_the_engine_then_the_replicas(
    server: Server, tmp_path: Path
) -> None:
    """On a full host, the API answers before the engine runs jobs, and both before the
    replicas compute: each is nicer than the one before (5, then 10, than the server)."""
    _, replica = _running_replica(server, tmp_path / "pids.json")
    assert server.process is not None
    base = psutil.Process(server.process.pid).nice()
    assert (server.engine.nice(), replica.nice()) == (base + 5, base + 10)


def test_a_stopped_server_stops_its_engine_and_every_replica(
    server: Server, tmp_path: Path
) -> None:
    _, replica = _running_replica(server, tmp_path / "pids.json")
    engine = server.engine
    assert server.process is not None
    process = server.process
    server.stop()
    assert process.returncode == 0
    assert not engine.is_running()
    replica.wait(timeout=10)  # the shutdown killed its group before the engine exited


def test_without_its_engine_the_api_refuses_changes_and_keeps_every_record(
    server: Server, tmp_path: Path
) -> None:
    done = server.create(python_job("probe.task", PROBE)).json()["name"]
    server.wait_for(done, "JOB_STATE_SUCCEEDED")
    os.kill(server.engine.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while server.client.get("/healthz").status_code == 200:
        assert time.monotonic() < deadline, "the server did not notice its engine had gone"
        time.sleep(0.05)
    health = server.client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["error"]["status"] == "UNAVAILABLE"
    refused = server.create(python_job("probe.task", PROBE))
    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["status"] == "UNAVAILABLE" and "restarted" in error["message"]
    listed = server.client.get(f"/v1/{PARENT}/customJobs")
    assert [job["name"] for job in listed.json()["customJobs"]] == [done]  # nothing added
    assert server.get(done)["state"] == "JOB_STATE_SUCCEEDED"
    server.restart()
    assert server.create(python_job("probe.task", PROBE)).status_code == 200


def test_an_engine_that_cannot_start_stops_the_server_with_the_reason(tmp_path: Path) -> None:
    home = tmp_path / "home"
    command = [sys.executable, "-m", "vertexd", "serve", "--home", str(home), "--port", "0"]
    result = subprocess.run(
        [*command, "--grpc-port", "0", "--gpus", "one,two"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ERROR:") and "The vertexd engine could not start" in last
    assert "'one'" in last  # the value it could not read


@pytest.mark.parametrize(
    ("flags", "env", "error"),
    [
        ((), {"VERTEXD_REPLICA_NICE": "99"}, "replica_nice (VERTEXD_REPLICA_NICE or its flag): "
         "Input should be less than or equal to 19."),
        (("--cpus", "-2"), {}, "cpus (VERTEXD_CPUS or its flag): "
         "Input should be greater than or equal to 0."),
    ],
)  # fmt: skip
def test_a_bad_setting_stops_the_server_with_one_line_naming_it(
    tmp_path: Path, flags: tuple[str, ...], env: dict[str, str], error: str
) -> None:
    home = tmp_path / "home"
    command = [sys.executable, "-m", "vertexd", "serve", "--home", str(home), "--port", "0"]
    result = subprocess.run(
        [*command, *flags], capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"ERROR: (vertexd.serve) Bad setting: {error}"]
    assert not (home / "vertexd.db").exists()  # refused before anything was made
