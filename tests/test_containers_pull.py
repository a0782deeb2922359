"""Containers by default: the engine found where Docker's tools look, images pulled from a real
registry (Debian's docker-registry with htpasswd, started by .ci/services/registry.sh), and
each failed pull failing its job with a reason a user acts on."""
# ruff: noqa: F811 - pytest fixtures imported from container_support are used as arguments

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
import psutil
import pytest

from conftest import Server, free_port
from container_support import (  # noqa: F401 - fixtures: engine, images, leftover check
    container_job,
    docker_client,
    engine_url,
    images,
    no_leftover_containers,
    run_to_end,
    texts,
)
from vertexd.backends.container.engine import Engine
from vertexd.backends.container.pulls import ImagePuller, PullFailed

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Registry:
    address: str
    user: str
    password: str

    def auth(self, password: str | None = None) -> dict[str, str]:
        secret = f"{self.user}:{password or self.password}".encode()
        return {"auth": base64.b64encode(secret).decode()}


@pytest.fixture(scope="module")
def registry() -> Registry:
    found = Registry(
        os.environ.get("VERTEXD_TEST_REGISTRY", ""),
        os.environ.get("VERTEXD_TEST_REGISTRY_USER", ""),
        os.environ.get("VERTEXD_TEST_REGISTRY_PASSWORD", ""),
    )
    if not found.address:
        how = 'start one with: eval "$(bash .ci/services/registry.sh start)"'
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI needs the test registry; {how}", pytrace=False)
        pytest.skip(f"no test registry (VERTEXD_TEST_REGISTRY is not set); {how}")
    return found


@pytest.fixture(scope="module")
def docker_config(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Path:
    """~/.docker/config.json of the user running vertexd: the right password for the
    registry's address, a wrong one for the same registry under the name localhost."""
    folder = tmp_path_factory.mktemp("docker-config")
    port = registry.address.rsplit(":", 1)[1]
    auths = {registry.address: registry.auth(), f"localhost:{port}": registry.auth("wrong")}
    (folder / "config.json").write_text(json.dumps({"auths": auths}))
    return folder


@pytest.fixture(scope="module")
def pushed(
    docker_client: docker.DockerClient,
    images: dict[str, str],
    registry: Registry,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """An image with a layer of its own, in the registry only (removed from the engine)."""
    context = tmp_path_factory.mktemp("image")
    (context / "data").write_bytes(os.urandom(2_000_000))
    (context / "Dockerfile").write_text(f"FROM {images['busybox']}\nCOPY data /data\n")
    reference = f"{registry.address}/vertexd-test/pulled:{uuid.uuid4().hex[:12]}"
    docker_client.images.build(path=str(context), tag=reference, rm=True, pull=False)
    credentials = {"username": registry.user, "password": registry.password}
    for line in docker_client.api.push(
        reference, auth_config=credentials, stream=True, decode=True
    ):
        assert "error" not in line, line
    docker_client.images.remove(reference)
    return reference


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, engine_url: str, docker_config: Path
) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("home"),
        "--cpus",
        "64",
        "--container-engine",
        engine_url,
        env={"DOCKER_CONFIG": str(docker_config)},
    )
    running.start()
    yield running
    running.stop()


def pulls_of(client: docker.DockerClient, reference: str, since: float) -> int:
    events = client.events(since=int(since), until=int(time.time()) + 1, decode=True)
    return sum(
        1
        for event in events
        if event.get("Type") == "image"
        and event.get("Action") == "pull"
        and reference in (event.get("Actor", {}).get("ID", ""), event.get("id", ""))
    )


def test_an_image_only_in_the_registry_is_pulled_once_for_all_that_need_it(
    server: Server, docker_client: docker.DockerClient, pushed: str
) -> None:
    since = time.time() - 1
    pool = container_job(pushed, ["sh", "-c", "ls /data && echo ran"])["jobSpec"][
        "workerPoolSpecs"
    ][0]
    job = {
        "displayName": "pulled",
        "jobSpec": {"workerPoolSpecs": [pool, {**pool, "replicaCount": "2"}]},
    }
    done: list[dict] = []
    runs = [threading.Thread(target=lambda: done.append(run_to_end(server, job))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert [job["state"] for job in done] == ["JOB_STATE_SUCCEEDED"] * 2, done
    assert pulls_of(docker_client, pushed, since) == 1
    said = [texts(server, job["name"], "service") for job in done]
    registry = pushed.split("/", 1)[0]
    leader = next(
        lines
        for lines in said
        if f"Pulling {pushed} from {registry} (pull policy missing)." in lines
    )
    assert any(line.startswith(f"Pulled {pushed} in ") and "MB" in line for line in leader)
    steps = [
        next(i for i, line in enumerate(leader) if key in line)
        for key in ("Pulling", "Pulled", ": container vertexd-", "Started", "Job succeeded")
    ]
    assert steps == sorted(steps)  # engine, pull, start, end: in the order a user reads them
    engine_line = leader[steps[2]]
    assert f"of {pushed} on " in engine_line and " at unix://" in engine_line
    assert all(
        texts(server, job["name"], f"workerpool1-{i}") == ["/data", "ran"]
        for i in (0, 1)
        for job in done
    )


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("localhost:{port}/vertexd-test/pulled:{tag}", "the registry refused the credentials"),
        ("{address}/vertexd-test/pulled:no-such-tag", "the registry has no such image or tag"),
        ("127.0.0.1:{free}/vertexd-test/pulled:1", "the registry cannot be reached"),
    ],
    ids=["wrong-credentials", "unknown-tag", "registry-down"],
)
def test_a_failed_pull_fails_the_job_at_once_saying_why(
    server: Server, registry: Registry, pushed: str, image: str, reason: str
) -> None:
    port = registry.address.rsplit(":", 1)[1]
    image = image.format(
        port=port, tag=pushed.rsplit(":", 1)[1], address=registry.address, free=free_port()
    )
    done = run_to_end(server, container_job(image))
    assert done["state"] == "JOB_STATE_FAILED"
    message = done["error"]["message"]
    assert message.startswith(f"Cannot pull the image {image} from {image.split('/')[0]}: {reason}")
    assert message in texts(server, done["name"], "service")
    assert "startTime" not in done  # no replica ever started


def test_the_engine_is_found_at_a_usual_socket(
    tmp_path: Path, engine_url: str, images: dict[str, str]
) -> None:
    """Nothing configured: DOCKER_HOST and CONTAINER_HOST unset, the engine's socket where a
    rootless Docker keeps it ($XDG_RUNTIME_DIR/docker.sock). The server the CLI starts finds
    it, and gcloud's own command runs a container job on it."""
    if not engine_url.startswith("unix://"):
        pytest.skip("the engine under test has no socket file")
    runtime, home = tmp_path / "run", tmp_path / "home"
    runtime.mkdir()
    (runtime / "docker.sock").symlink_to(engine_url.removeprefix("unix://"))
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)}
    env.update(VERTEXD_HOME=str(home), DOCKER_HOST="", CONTAINER_HOST="")
    pool = (
        "--worker-pool-spec=machine-type=n1-standard-4,replica-count=1,"
        f"container-image-uri={images['busybox']}"
    )
    create = [sys.executable, "-m", "vertexd", "custom-jobs", "create", "--region=us-central1"]
    created = subprocess.run(
        [*create, "--display-name=found", pool, "--args=found"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    record = json.loads((home / "server.json").read_text())
    try:
        assert created.returncode == 0, created.stderr
        line = next(line for line in created.stderr.splitlines() if "submitted" in line)
        name = line.split("[", 1)[1].split("]", 1)[0]
        started = Server(home)
        started.url = record["endpoint"]
        started.client = httpx.Client(base_url=started.url, timeout=30)
        done = started.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
        assert done["state"] == "JOB_STATE_SUCCEEDED", done
        assert texts(started, name) == ["from-entrypoint found"]
    finally:
        os.kill(record["pid"], signal.SIGTERM)
        psutil.Process(record["pid"]).wait(timeout=60)
    said = (home / "server.log").read_text()
    assert "container engine: " in said
    if not Path("/var/run/docker.sock").exists():  # the first place looked at
        assert f"at unix://{runtime}/docker.sock (the usual socket)" in said


def test_the_pull_policies(
    engine_url: str, docker_client: docker.DockerClient, pushed: str, docker_config: Path
) -> None:
    """never: only what the engine has; missing: pulls only what it lacks; always: asks the
    registry every time."""
    os.environ["DOCKER_CONFIG"] = str(docker_config)
    engine = Engine(engine_url)
    try:
        present = any(pushed in image.tags for image in docker_client.images.list())
        if present:
            docker_client.images.remove(pushed)
        said: list[str] = []
        with pytest.raises(PullFailed, match="the pull policy is `never`"):
            ImagePuller(engine, "never").ensure(pushed, said.append)
        since = time.time() - 1
        for policy in ("missing", "missing", "always"):
            ImagePuller(engine, policy).ensure(pushed, said.append)
        assert pulls_of(docker_client, pushed, since) == 2  # the second "missing" pulled nothing
        ImagePuller(engine, "never").ensure(pushed, said.append)  # now it is there
    finally:
        os.environ.pop("DOCKER_CONFIG")
        engine.close()
