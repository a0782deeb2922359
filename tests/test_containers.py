"""containerSpec on a real engine: the four ENTRYPOINT/CMD rules, environment, working dir,
exit codes, logs, missing images and GPU requests."""

# ruff: noqa: F811 - pytest fixtures imported from container_support are used as arguments

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from conftest import Server, python_job
from container_support import (  # noqa: F401 - fixtures: engine, images, leftover check
    container_job,
    container_server,
    docker_client,
    engine_url,
    images,
    no_leftover_containers,
    run_to_end,
    texts,
)
from probe_package import probe_wheel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, engine_url: str, images: dict[str, str]
) -> Iterator[Server]:
    running = container_server(tmp_path_factory.mktemp("home"), engine_url)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def busybox(images: dict[str, str]) -> str:
    return images["busybox"]


@pytest.mark.parametrize(
    ("command", "args", "printed"),
    [
        (None, None, "from-entrypoint from-cmd"),  # 1. the image's ENTRYPOINT and CMD
        (["/bin/echo", "from-command"], None, "from-command"),  # 2. CMD dropped
        (None, ["from-args"], "from-entrypoint from-args"),  # 3. ENTRYPOINT kept
        (["/bin/echo", "from-command"], ["from-args"], "from-command from-args"),  # 4.
    ],
    ids=["neither", "command-only", "args-only", "both"],
)
def test_the_four_entrypoint_rules(
    server: Server, busybox: str, command: list[str] | None, args: list[str] | None, printed: str
) -> None:
    done = run_to_end(server, container_job(busybox, command, args))
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    assert texts(server, done["name"]) == [printed]


def test_environment_working_dir_streams_and_exit_code(server: Server, busybox: str) -> None:
    script = "env; echo cwd=$(pwd); echo to-stderr >&2; exit 7"
    job = container_job(
        busybox,
        ["sh", "-c", script],
        env={"MY_VAR": "a value with spaces"},
        baseOutputDirectory={"outputUriPrefix": "gs://test-bucket/out"},
    )
    done = run_to_end(server, job)
    assert done["state"] == "JOB_STATE_FAILED"
    assert "workerpool0-0" in done["error"]["message"]
    assert "non-zero status of 7" in done["error"]["message"]
    assert "to-stderr" in done["error"]["message"]  # the last lines come with the error
    entries = server.logs(done["name"], "workerpool0-0")
    assert ("stderr", "to-stderr") in [(e["stream"], e["text"]) for e in entries]
    env = dict(e["text"].split("=", 1) for e in entries if "=" in e["text"])
    assert env["MY_VAR"] == "a value with spaces"
    assert env["CLOUD_ML_JOB_ID"] == done["name"].rsplit("/", 1)[1]
    assert env["AIP_MODEL_DIR"] == "gs://test-bucket/out/model/"
    assert env["AIP_CHECKPOINT_DIR"] == "gs://test-bucket/out/checkpoints/"
    cluster = json.loads(env["CLUSTER_SPEC"])
    assert cluster["task"] == {"type": "workerpool0", "index": 0, "trial": ""}
    assert json.loads(env["TF_CONFIG"])["task"]["type"] == "chief"
    assert env["RANK"] == "0" and env["WORLD_SIZE"] == "1"
    assert env["cwd"] == "/"  # the image's working dir, as on Vertex
    assert "VERTEXD_HOME" not in env  # nothing of the server's own environment leaks in


def test_working_dir_is_the_images(
    server: Server, docker_client: docker.DockerClient, busybox: str
) -> None:
    tag = "vertexd-test/workdir:1"
    dockerfile = f"FROM {busybox}\nWORKDIR /srv/app\n"
    docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=tag, pull=False, rm=True, forcerm=True
    )
    try:
        done = run_to_end(server, container_job(tag, ["sh", "-c", "pwd"]))
        assert done["state"] == "JOB_STATE_SUCCEEDED"
        assert texts(server, done["name"]) == ["/srv/app"]
    finally:
        docker_client.images.remove(tag, force=True)


def test_gcs_mount_writes_land_in_the_local_bucket(server: Server, busybox: str) -> None:
    script = "mkdir -p /gcs/test-bucket/mounted && echo written > /gcs/test-bucket/mounted/f.txt"
    done = run_to_end(server, container_job(busybox, ["sh", "-c", script]))
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    written = server.home / "buckets" / "test-bucket" / "mounted" / "f.txt"
    assert written.read_text() == "written\n"


def test_long_and_unterminated_lines(server: Server, busybox: str) -> None:
    script = "head -c 40000 /dev/zero | tr '\\0' x; echo; printf 'no newline at the end'"
    done = run_to_end(server, container_job(busybox, ["sh", "-c", script]))
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    assert texts(server, done["name"]) == ["x" * 40000, "no newline at the end"]


def test_an_image_no_registry_serves_fails_at_once_naming_it(server: Server) -> None:
    done = run_to_end(server, container_job("registry.example/team/never-built:1"))
    assert done["state"] == "JOB_STATE_FAILED"
    message = done["error"]["message"]
    assert "Cannot pull the image registry.example/team/never-built:1 from registry.example" in (
        message
    )
    assert "cannot be reached" in message


def test_gpus_the_machine_lacks_are_left_out_with_a_warning(server: Server, busybox: str) -> None:
    """No GPU here: the replica runs on CPUs, and the log says what was asked and what is."""
    job = container_job(busybox, ["sh", "-c", "echo ran"])
    job["jobSpec"]["workerPoolSpecs"][0]["machineSpec"].update(
        acceleratorType="NVIDIA_TESLA_K80", acceleratorCount=2
    )
    done = run_to_end(server, job)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    warning = next(t for t in texts(server, done["name"], "service") if "WARNING" in t)
    assert "workerpool0 asks for 2 x NVIDIA_TESLA_K80" in warning
    assert "this machine has none" in warning and "without GPUs" in warning
    assert texts(server, done["name"]) == ["ran"]


def test_container_and_process_logs_share_the_job_log(server: Server, busybox: str) -> None:
    done = run_to_end(server, container_job(busybox, args=["one"]))
    log_file = server.home / "jobs" / done["name"].rsplit("/", 1)[1] / "job.log"
    tasks = [json.loads(line)["taskName"] for line in log_file.read_text().splitlines()]
    assert "service" in tasks and "workerpool0-0" in tasks


def test_the_server_says_which_engine_it_uses(
    server: Server, container_engine: str, engine_url: str
) -> None:
    name = {"docker": "Docker Engine", "podman": "Podman"}[container_engine]
    said = (server.home / "server.log").read_text()
    assert f"container engine: {name} " in said and engine_url in said


def test_server_without_engine_refuses_containers(tmp_path: Path, busybox: str) -> None:
    (tmp_path / "home").mkdir()
    plain = Server(tmp_path / "home", "--cpus", "64", "--container-engine", "none")
    plain.start()
    try:
        answer = plain.create(container_job(busybox))
        assert answer.status_code == 400
        assert answer.json()["error"]["status"] == "FAILED_PRECONDITION"
    finally:
        plain.stop()


def test_a_job_mixing_containers_and_local_processes(server: Server, busybox: str) -> None:
    """Pool 0 and 2 in containers, pool 1 as local processes: one gang, one cluster."""
    probe_wheel(server.home / "buckets" / "test-bucket" / "packages")
    show = ["sh", "-c", 'echo "$CLUSTER_SPEC"']
    container_pool = container_job(busybox, show)["jobSpec"]["workerPoolSpecs"][0]
    local_pool = python_job("probe.task", "gs://test-bucket/packages/probe-0.1-py3-none-any.whl")
    local_pool = {**local_pool["jobSpec"]["workerPoolSpecs"][0], "replicaCount": "2"}
    job = {
        "displayName": "mixed",
        "jobSpec": {"workerPoolSpecs": [container_pool, local_pool, container_pool]},
    }
    done = run_to_end(server, job, timeout=300)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    chief = json.loads(texts(server, done["name"])[0])
    assert chief["task"] == {"type": "workerpool0", "index": 0, "trial": ""}
    assert [len(chief["cluster"][f"workerpool{i}"]) for i in range(3)] == [1, 2, 1]
    ps = json.loads(texts(server, done["name"], "workerpool2-0")[0])
    assert ps["task"]["type"] == "workerpool2" and ps["cluster"] == chief["cluster"]
    assert "hello from the probe" in texts(server, done["name"], "workerpool1-1")


def test_an_engine_that_does_not_answer_fails_jobs_not_the_server(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    engine = f"unix://{tmp_path}/no-such.sock"
    lonely = Server(tmp_path / "home", "--cpus", "64", "--container-engine", engine)
    lonely.start()
    try:
        done = run_to_end(lonely, container_job("any/image:1"))
        assert done["state"] == "JOB_STATE_FAILED"
        assert engine in done["error"]["message"]
    finally:
        lonely.stop()
