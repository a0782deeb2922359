"""Real jobs on real processes through the REST API of a real `vertexd serve`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil
import pytest

from conftest import Server, python_job
from probe_package import probe_wheel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def probe_uri(server: Server) -> str:
    """The probe wheel in the server's local bucket, named by its gs:// URI."""
    probe_wheel(server.home / "buckets" / "test-bucket" / "packages")
    return "gs://test-bucket/packages/probe-0.1-py3-none-any.whl"


def test_job_succeeds_with_logs_times_and_replica_environment(
    server: Server, probe_uri: str, tmp_path: Path
) -> None:
    env_file = tmp_path / "env.json"
    job = python_job(
        "probe.task",
        probe_uri,
        ["--env-file", str(env_file)],
        baseOutputDirectory={"outputUriPrefix": "gs://test-bucket/out"},
    )
    created = server.create(job)
    assert created.status_code == 200, created.text
    name = created.json()["name"]
    assert created.json()["state"] == "JOB_STATE_QUEUED"
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    assert done["createTime"] <= done["startTime"] <= done["endTime"]
    assert "error" not in done
    lines = server.logs(name, "workerpool0-0")
    assert [(e["stream"], e["text"]) for e in lines] == [
        ("stdout", "hello from the probe"),
        ("stderr", "to stderr"),
        ("stdout", "last words"),
    ] or {("stdout", "hello from the probe"), ("stderr", "to stderr")} <= {
        (e["stream"], e["text"]) for e in lines
    }
    seen = json.loads(env_file.read_text())
    env = seen["env"]
    job_id = name.rsplit("/", 1)[1]
    assert env["CLOUD_ML_JOB_ID"] == job_id
    assert env["AIP_MODEL_DIR"] == "gs://test-bucket/out/model/"
    assert env["AIP_CHECKPOINT_DIR"] == "gs://test-bucket/out/checkpoints/"
    assert env["AIP_TENSORBOARD_LOG_DIR"] == "gs://test-bucket/out/logs/"
    cluster = json.loads(env["CLUSTER_SPEC"])
    assert cluster["task"] == {"type": "workerpool0", "index": 0, "trial": ""}
    assert list(cluster["cluster"]) == ["workerpool0"]
    assert cluster["environment"] == "cloud"
    tf_config = json.loads(env["TF_CONFIG"])
    assert tf_config["task"]["type"] == "chief" and list(tf_config["cluster"]) == ["chief"]
    assert env["RANK"] == "0" and env["WORLD_SIZE"] == "1" and env["MASTER_ADDR"] == "127.0.0.1"
    assert seen["argv"][1:] == ["--env-file", str(env_file)]


def test_failure_reports_exit_code_and_last_lines(server: Server, probe_uri: str) -> None:
    name = server.create(python_job("probe.task", probe_uri, ["--exit", "3"])).json()["name"]
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
    assert done["state"] == "JOB_STATE_FAILED"
    message = done["error"]["message"]
    assert "workerpool0-0" in message and "non-zero status of 3" in message
    assert "last words" in message


def test_cancel_kills_the_whole_process_group(
    server: Server, probe_uri: str, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids.json"
    job = python_job("probe.task", probe_uri, ["--sleep", "600", "--pid-file", str(pid_file)])
    name = server.create(job).json()["name"]
    server.wait_for(name, "JOB_STATE_RUNNING")
    _wait_for_file(pid_file)
    pids = json.loads(pid_file.read_text())
    assert psutil.pid_exists(pids["child"])
    assert server.client.post(f"/v1/{name}:cancel").json() == {}
    done = server.wait_for(name, "JOB_STATE_CANCELLED", "JOB_STATE_FAILED", timeout=30)
    assert done["state"] == "JOB_STATE_CANCELLED"
    assert done["error"] == {"code": 1, "message": "CANCELED"}
    assert not _group_alive(pids["pgid"])
    again = server.client.post(f"/v1/{name}:cancel")
    assert again.status_code == 400 and again.json()["error"]["status"] == "FAILED_PRECONDITION"


def test_timeout_fails_the_job_and_stops_it(server: Server, probe_uri: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids.json"
    job = python_job(
        "probe.task",
        probe_uri,
        ["--sleep", "600", "--pid-file", str(pid_file)],
        scheduling={"timeout": "2s"},
    )
    name = server.create(job).json()["name"]
    done = server.wait_for(name, "JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED", timeout=60)
    assert done["state"] == "JOB_STATE_FAILED"
    assert "timeout of 2s" in done["error"]["message"]
    assert not _group_alive(json.loads(pid_file.read_text())["pgid"])


def test_second_job_reuses_the_environment(server: Server, probe_uri: str) -> None:
    first = server.create(python_job("probe.task", probe_uri)).json()["name"]
    server.wait_for(first, "JOB_STATE_SUCCEEDED")
    second = server.create(python_job("probe.task", probe_uri)).json()["name"]
    server.wait_for(second, "JOB_STATE_SUCCEEDED")
    service_lines = [e["text"] for e in server.logs(second, "service")]
    assert any("reus" in line.lower() for line in service_lines), service_lines


def _wait_for_file(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False
