"""Containers end with their jobs: cancel, timeout, shutdown; a restarted server reattaches to
them (their output meanwhile copied once) or removes what no job holds."""

# ruff: noqa: F811 - pytest fixtures imported from container_support are used as arguments

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from conftest import Server
from container_support import (  # noqa: F401 - fixtures: engine, images, leftover check
    LABEL,
    container_job,
    container_server,
    docker_client,
    engine_url,
    images,
    no_leftover_containers,
    texts,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def server(
    tmp_path: Path, engine_url: str, images: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    monkeypatch.setenv("VERTEXD_GRACE_SECONDS", "2")
    (tmp_path / "home").mkdir()
    running = container_server(tmp_path / "home", engine_url)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def busybox(images: dict[str, str]) -> str:
    return images["busybox"]


def start(server: Server, job: dict, first_line: str) -> str:
    name = server.create(job).json()["name"]
    server.wait_for(name, "JOB_STATE_RUNNING")
    deadline = time.monotonic() + 30
    while first_line not in texts(server, name):
        assert time.monotonic() < deadline, texts(server, name)
        time.sleep(0.05)
    return str(name)


def ours(client: docker.DockerClient, server: Server) -> list[str]:
    found = client.containers.list(all=True, filters={"label": f"{LABEL}={server.home}"})
    return [c.name for c in found]


def test_cancel_stops_and_removes_the_container(
    server: Server, busybox: str, docker_client: docker.DockerClient
) -> None:
    name = start(server, container_job(busybox, ["sh", "-c", "echo up; sleep 600"]), "up")
    assert len(ours(docker_client, server)) == 1
    started = time.monotonic()
    assert server.client.post(f"/v1/{name}:cancel").status_code == 200
    done = server.wait_for(name, "JOB_STATE_CANCELLED", "JOB_STATE_FAILED", timeout=30)
    assert done["state"] == "JOB_STATE_CANCELLED"
    assert time.monotonic() - started < 2  # SIGTERM reached `sleep` through the init
    assert done["error"] == {"code": 1, "message": "CANCELED"}


def test_a_container_deaf_to_sigterm_is_killed_after_the_grace(
    server: Server, busybox: str
) -> None:
    script = "trap 'echo ignored' TERM; echo up; while true; do sleep 1; done"
    name = start(server, container_job(busybox, ["sh", "-c", script]), "up")
    server.client.post(f"/v1/{name}:cancel")
    done = server.wait_for(name, "JOB_STATE_CANCELLED", "JOB_STATE_FAILED", timeout=30)
    assert done["state"] == "JOB_STATE_CANCELLED"
    assert any("killed" in text for text in texts(server, name, "service"))


def test_timeout_fails_the_job_and_removes_the_container(server: Server, busybox: str) -> None:
    job = container_job(busybox, ["sleep", "600"], scheduling={"timeout": "2s"})
    name = server.create(job).json()["name"]
    done = server.wait_for(name, "JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED", timeout=60)
    assert "timeout of 2s" in done["error"]["message"]


def test_kill_9_restart_reattaches_and_copies_the_missed_lines_once(
    server: Server, busybox: str
) -> None:
    script = "echo before; sleep 1; echo during; echo also-during >&2; sleep 3; echo after"
    name = start(server, container_job(busybox, ["sh", "-c", script]), "before")
    server.restart(kill=True)
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    entries = server.logs(name, "workerpool0-0")
    assert [e["text"] for e in entries if e["stream"] == "stdout"] == ["before", "during", "after"]
    assert [e["text"] for e in entries if e["stream"] == "stderr"] == ["also-during"]
    assert any("reattached" in text for text in texts(server, name, "service"))


def test_container_that_ended_while_no_server_ran(server: Server, busybox: str) -> None:
    script = "echo before; sleep 1; echo last-words; exit 3"
    name = start(server, container_job(busybox, ["sh", "-c", script]), "before")
    server.stop(kill=True)
    time.sleep(2)  # it exits meanwhile
    server.start()
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
    assert done["state"] == "JOB_STATE_FAILED"
    assert "non-zero status of 3" in done["error"]["message"]
    assert "last-words" in done["error"]["message"]
    assert texts(server, name) == ["before", "last-words"]


def test_restart_removes_containers_no_job_holds(
    server: Server, busybox: str, docker_client: docker.DockerClient
) -> None:
    labels = {LABEL: str(server.home), "vertexd.job": "1234567890", "vertexd.task": "x"}
    stray = docker_client.containers.create(busybox, ["sleep", "600"], labels=labels)
    stray.start()
    elsewhere = {LABEL: "/some/other/vertexd/home", "vertexd.job": "1"}
    other = docker_client.containers.create(busybox, ["sleep", "600"], labels=elsewhere)
    try:
        server.restart()
        assert ours(docker_client, server) == []
        other.reload()  # another server's container is none of this one's business
        assert other.status == "created"
    finally:
        other.remove(force=True)


def test_graceful_shutdown_stops_and_removes_running_containers(
    server: Server, busybox: str, docker_client: docker.DockerClient
) -> None:
    name = start(server, container_job(busybox, ["sh", "-c", "echo up; sleep 600"]), "up")
    server.stop()
    assert ours(docker_client, server) == []
    server.start()
    done = server.get(name)
    assert done["state"] == "JOB_STATE_FAILED" and "shut down" in done["error"]["message"]
