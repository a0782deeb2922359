"""What a spec copied from Vertex gets on a host that lacks what it asks for: GPUs left out
with a warning (as a job larger than the host runs alone with one), or, with
--strict-resources, a refusal at create naming the pool and what is missing. And a container
pool where vertexd found no engine: refused, saying where it looked."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import PARENT, Server, python_job, write_wheel
from vertexd.api.app import create_app
from vertexd.launch.environments import EnvironmentBuilder
from vertexd.launch.plan import Reservation, Resources
from vertexd.launch.prepare import Preparer
from vertexd.settings import Settings
from vertexd.storage import Storage

TASK = "import os\nprint('ran on', os.environ.get('CUDA_VISIBLE_DEVICES', 'no GPU setting'))\n"


def with_gpus(job: dict, machine_type: str = "n1-standard-4", count: int = 1) -> dict:
    job = copy.deepcopy(job)
    machine = job["jobSpec"]["workerPoolSpecs"][0]["machineSpec"]
    machine.update(machineType=machine_type, acceleratorType="NVIDIA_TESLA_K80")
    if count:
        machine["acceleratorCount"] = count
    return job


def container(image: str = "example.com/team/trainer:1") -> dict:
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "1",
        "containerSpec": {"imageUri": image},
    }
    return {"displayName": "container", "jobSpec": {"workerPoolSpecs": [pool]}}


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        home=tmp_path / "home", cpus=8, memory_gb=32, gpus=0, strict_resources=True,
        container_engine="none",
    )  # fmt: skip
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def refusal(api: TestClient, job: dict) -> str:
    response = api.post(f"/v1/{PARENT}/customJobs", json=job)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == "FAILED_PRECONDITION"
    return str(error["message"])


def test_strict_resources_refuses_what_the_host_cannot_give(strict: TestClient) -> None:
    job = python_job("trainer.task", "gs://b/trainer-0.1-py3-none-any.whl")
    assert refusal(strict, with_gpus(job, count=2)) == (
        "job_spec.worker_pool_specs[0].machine_spec: each replica asks for 2 x "
        "NVIDIA_TESLA_K80 (this host has 0 GPUs for it); --strict-resources refuses what "
        "this host cannot give."
    )
    large = copy.deepcopy(job)
    large["jobSpec"]["workerPoolSpecs"][0]["machineSpec"]["machineType"] = "n1-highmem-16"
    assert "16 vCPUs (this host has 8), 104 GB memory (this host has 32)" in refusal(strict, large)
    four = copy.deepcopy(job)
    chief = four["jobSpec"]["workerPoolSpecs"][0]
    four["jobSpec"]["workerPoolSpecs"].append({**chief, "replicaCount": "3"})
    assert refusal(strict, four).startswith(
        "job_spec.worker_pool_specs: the job asks for 16 vCPUs, 60 GB memory in all; "
        "this host has 8 vCPUs, 32 GB memory"
    )
    listed = strict.get(f"/v1/{PARENT}/customJobs").json()
    assert listed.get("customJobs", []) == []  # nothing refused was stored


def test_a_container_pool_without_an_engine_says_where_vertexd_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for usual in ("/var/run/docker.sock", "/run/podman/podman.sock"):
        if Path(usual).exists():
            pytest.skip(f"this machine has an engine socket at {usual}")
    monkeypatch.setenv("DOCKER_HOST", "")
    monkeypatch.setenv("CONTAINER_HOST", "")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with TestClient(
        create_app(Settings(home=tmp_path / "home", cpus=8)), base_url="http://127.0.0.1"
    ) as api:
        message = refusal(api, container())
    assert message.startswith(
        "job_spec.worker_pool_specs[0].container_spec: running a container image needs a "
        "container engine, and vertexd found none (vertexd looked at "
        "unix:///var/run/docker.sock (the usual socket): no such socket; "
        f"unix://{tmp_path}/run/docker.sock (the usual socket): no such socket;"
    )
    assert f"unix://{tmp_path}/.docker/run/docker.sock" in message
    assert "unix:///run/podman/podman.sock (the usual socket): no such socket)" in message
    assert message.endswith("--container-engine unix:///PATH/TO/SOCKET` (or DOCKER_HOST).")


@pytest.mark.slow
def test_gpus_a_host_lacks_are_left_out_of_a_local_job_with_a_warning(tmp_path: Path) -> None:
    buckets = tmp_path / "home" / "buckets" / "b"
    write_wheel(buckets, "gpuless", {"gpuless/__init__.py": "", "gpuless/task.py": TASK})
    server = Server(tmp_path / "home", "--cpus", "64", "--gpus", "0")
    server.start()
    try:
        job = with_gpus(python_job("gpuless.task", "gs://b/gpuless-0.1-py3-none-any.whl"))
        created = server.create(job).json()["name"]
        done = server.wait_for(created, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
        assert done["state"] == "JOB_STATE_SUCCEEDED", done
        said = [entry["text"] for entry in server.logs(created, "service")]
        assert (
            "WARNING: workerpool0 asks for 1 x NVIDIA_TESLA_K80 per replica, but this machine "
            "has none: its replicas run without GPUs, on CPUs only. Start vertexd with "
            "--strict-resources to refuse such jobs instead."
        ) in said
        assert not any("It runs alone" in line for line in said)  # no GPUs: not oversized
    finally:
        server.stop()


def test_the_backend_is_asked_for_no_gpus_a_cluster_lacks(tmp_path: Path) -> None:
    """The launch plan (what a Ray placement group or a local process gets) leaves them out."""
    storage = Storage(tmp_path / "buckets")
    builder = EnvironmentBuilder(tmp_path / "envs", storage)
    preparer = Preparer(tmp_path / "jobs", builder, {}, None, Resources(64, 256, 0))
    write_wheel(tmp_path / "buckets" / "b", "gpuless", {"gpuless/task.py": TASK})
    job = with_gpus(python_job("gpuless.task", "gs://b/gpuless-0.1-py3-none-any.whl"), count=2)
    asked: list[Resources] = []

    def reserve(job_id: str, tasks: list[tuple[str, Resources]]) -> Reservation:
        asked.extend(resources for _, resources in tasks)
        return Reservation(tuple(f"127.0.0.1:{9000 + i}" for i in range(len(tasks))))

    said: list[str] = []
    plan = preparer.prepare("7", job["jobSpec"], 1, said.append, reserve)
    assert asked == [Resources(4, 15, 0)] and plan.replicas[0].resources == Resources(4, 15, 0)
    assert any("2 x NVIDIA_TESLA_K80" in line for line in said)
