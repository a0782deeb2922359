"""What the container tests share: the engines, the test images, servers that use them, and
the check that no test leaves a container behind.

Every test that asks for an engine (`engine_url`, `docker_client`, `images`) runs on each
engine in ENGINES, module by module (test ids end in [docker] / [podman]): Docker at
DOCKER_HOST, as `.ci/services/docker.sh start` prints it, and Podman's Docker-compatible API
at VERTEXD_TEST_PODMAN_HOST, as `.ci/services/podman.sh start` prints it; both with the images
VERTEXD_TEST_IMAGES lists. In CI (CI=true) a missing engine or image is a failure; elsewhere
that engine's runs are skipped, saying how to start it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from conftest import Server

LABEL = "vertexd.home"  # every container vertexd starts carries it
# Engine -> the variable that holds its URL.
ENGINES = {"docker": "DOCKER_HOST", "podman": "VERTEXD_TEST_PODMAN_HOST"}


def _unavailable(engine: str, reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI needs {engine} for these tests: {reason}", pytrace=False)
    how = f'start it with: eval "$(bash .ci/services/{engine}.sh start)"'
    pytest.skip(f"no {engine} ({reason}); {how}")


def listed_images() -> dict[str, str]:
    """{"busybox": image, "python": image} from VERTEXD_TEST_IMAGES."""
    raw = os.environ.get("VERTEXD_TEST_IMAGES", "")
    return dict(item.split("=", 1) for item in raw.split(",") if "=" in item)


@pytest.fixture(scope="module")
def engine_url(container_engine: str) -> str:
    url = os.environ.get(ENGINES[container_engine], "")
    if not url:
        _unavailable(container_engine, f"{ENGINES[container_engine]} is not set")
    return url


@pytest.fixture(scope="module")
def docker_client(container_engine: str, engine_url: str) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=engine_url)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no usable engine
        _unavailable(container_engine, f"the engine at {engine_url} does not answer: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def images(container_engine: str, docker_client: docker.DockerClient) -> dict[str, str]:
    found = listed_images()
    for role in ("busybox", "python"):
        if role not in found:
            _unavailable(container_engine, f"VERTEXD_TEST_IMAGES names no {role} image")
        try:
            docker_client.images.get(found[role])
        except docker.errors.ImageNotFound:
            _unavailable(container_engine, f"the engine lacks the test image {found[role]}")
    return found


@pytest.fixture(autouse=True)
def no_leftover_containers(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every container test, the engine has no container it did not have before: none
    of vertexd's (labelled vertexd.home) nor any other (image builds...)."""
    if "docker_client" not in request.fixturenames:
        yield
        return
    client: docker.DockerClient = request.getfixturevalue("docker_client")
    before = {c.id for c in client.containers.list(all=True)}
    yield
    deadline = time.monotonic() + 15
    while True:
        left = [c for c in client.containers.list(all=True) if c.id not in before]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not left, f"containers left behind: {[(c.name, c.labels) for c in left]}"
    ours = client.containers.list(all=True, filters={"label": LABEL})
    assert not ours, f"vertexd containers left: {[c.name for c in ours]}"


def container_server(home: Path, engine_url: str) -> Server:
    return Server(home, "--cpus", "64", "--container-engine", engine_url)


def container_job(
    image: str,
    command: list[str] | None = None,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    **spec: object,
) -> dict:
    container: dict[str, object] = {"imageUri": image}
    if command is not None:
        container["command"] = command
    if args is not None:
        container["args"] = args
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "1",
        "containerSpec": container,
    }
    return {"displayName": "container-test", "jobSpec": {"workerPoolSpecs": [pool], **spec}}


def texts(server: Server, name: str, task: str = "workerpool0-0") -> list[str]:
    return [entry["text"] for entry in server.logs(name, task)]


def run_to_end(server: Server, job: dict, timeout: float = 120) -> dict:
    created = server.create(job)
    assert created.status_code == 200, created.text
    name = created.json()["name"]
    return server.wait_for(
        name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", timeout=timeout
    )
