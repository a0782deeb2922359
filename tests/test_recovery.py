"""Server restarts (graceful and kill -9) and the host budget."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Server, python_job
from probe_package import probe_wheel

pytestmark = pytest.mark.slow

PROBE = "gs://test-bucket/packages/probe-0.1-py3-none-any.whl"


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[Server]:
    """A host with 4 vCPUs: one n1-standard-4 job at a time."""
    server = Server(tmp_path / "home", "--cpus", "4")
    probe_wheel(server.home / "buckets" / "test-bucket" / "packages")
    server.start()
    yield server
    server.stop()


def _pids(path: Path) -> dict:
    deadline = time.monotonic() + 60
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return dict(json.loads(path.read_text()))


def test_kill_9_restart_reattaches_running_job_and_keeps_history(
    small_server: Server, tmp_path: Path
) -> None:
    finished = small_server.create(python_job("probe.task", PROBE)).json()["name"]
    small_server.wait_for(finished, "JOB_STATE_SUCCEEDED")
    pid_file, go = tmp_path / "pids.json", tmp_path / "go"
    args = ["--pid-file", str(pid_file), "--say", "before", "--until-file", str(go)]
    running = small_server.create(python_job("probe.task", PROBE, args)).json()["name"]
    small_server.wait_for(running, "JOB_STATE_RUNNING")
    _pids(pid_file)
    small_server.restart(kill=True)
    assert small_server.get(running)["state"] == "JOB_STATE_RUNNING"
    go.touch()
    done = small_server.wait_for(running, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    texts = [e["text"] for e in small_server.logs(running, "workerpool0-0")]
    assert "before" in texts and "last words" in texts  # from before and after the restart
    assert small_server.get(finished)["state"] == "JOB_STATE_SUCCEEDED"


def test_job_killed_while_server_is_down_fails_with_a_reason(
    small_server: Server, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids.json"
    job = python_job("probe.task", PROBE, ["--sleep", "600", "--pid-file", str(pid_file)])
    name = small_server.create(job).json()["name"]
    small_server.wait_for(name, "JOB_STATE_RUNNING")
    pgid = _pids(pid_file)["pgid"]
    small_server.stop(kill=True)
    os.killpg(pgid, signal.SIGKILL)
    small_server.start()
    done = small_server.wait_for(name, "JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED")
    assert done["state"] == "JOB_STATE_FAILED"
    assert "workerpool0-0" in done["error"]["message"]


def test_graceful_shutdown_stops_jobs_and_keeps_records(
    small_server: Server, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids.json"
    job = python_job("probe.task", PROBE, ["--sleep", "600", "--pid-file", str(pid_file)])
    name = small_server.create(job).json()["name"]
    small_server.wait_for(name, "JOB_STATE_RUNNING")
    pids = _pids(pid_file)
    small_server.restart(kill=False)
    done = small_server.get(name)
    assert done["state"] == "JOB_STATE_FAILED" and "shut down" in done["error"]["message"]
    for pid in (pids["me"], pids["child"]):
        assert (
            not Path(f"/proc/{pid}").exists()
            or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
        )


def test_jobs_wait_queued_for_the_budget(small_server: Server, tmp_path: Path) -> None:
    first = small_server.create(python_job("probe.task", PROBE, ["--sleep", "3"])).json()["name"]
    small_server.wait_for(first, "JOB_STATE_RUNNING")
    second = small_server.create(python_job("probe.task", PROBE)).json()["name"]
    time.sleep(0.5)
    assert small_server.get(second)["state"] == "JOB_STATE_QUEUED"
    small_server.wait_for(second, "JOB_STATE_SUCCEEDED")
    assert small_server.get(first)["endTime"] <= small_server.get(second)["startTime"]


def test_job_bigger_than_the_host_runs_alone_with_a_warning(small_server: Server) -> None:
    job = python_job("probe.task", PROBE)
    job["jobSpec"]["workerPoolSpecs"][0]["machineSpec"]["machineType"] = "n1-standard-16"
    name = small_server.create(job).json()["name"]
    small_server.wait_for(name, "JOB_STATE_SUCCEEDED")
    warnings = [e["text"] for e in small_server.logs(name, "service") if "WARNING" in e["text"]]
    assert warnings and "16 vCPUs" in warnings[0]
