"""--limit-containers: each container is capped at its machine type's vCPUs and memory (never
above the host's budget), and one killed for memory says so."""
# ruff: noqa: F811 - pytest fixtures imported from container_support are used as arguments

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from conftest import Server
from container_support import (  # noqa: F401 - fixtures: engine, images, leftover check
    container_job,
    docker_client,
    engine_url,
    images,
    no_leftover_containers,
    run_to_end,
    texts,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, engine_url: str) -> Iterator[Server]:
    """A host budget of 0.25 GB: an n1-standard-4 replica (15 GB) gets a 0.25 GB container."""
    home = tmp_path_factory.mktemp("home")
    budget = ("--cpus", "64", "--memory-gb", "0.25", "--limit-containers")
    running = Server(home, *budget, "--container-engine", engine_url)
    running.start()
    yield running
    running.stop()


def test_a_container_out_of_memory_fails_saying_so(
    limited: Server, images: dict[str, str], docker_client: docker.DockerClient
) -> None:
    grab = ["python3", "-c", "print('allocating', flush=True); x = bytearray(1 << 30)"]
    done = run_to_end(limited, container_job(images["python"], grab))
    assert done["state"] == "JOB_STATE_FAILED"
    message = done["error"]["message"]
    assert message.startswith(
        "The replica workerpool0-0 exited with a non-zero status of 137: it ran out of "
        "memory, and the engine killed it (OOMKilled)."
    )
    assert texts(limited, done["name"]) == ["allocating"]


def test_a_container_within_its_limits_runs(limited: Server, images: dict[str, str]) -> None:
    show = [
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory.max 2>/dev/null"  # cgroup v2, else v1
        " || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    done = run_to_end(limited, container_job(images["busybox"], show))
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    (limit,) = texts(limited, done["name"])
    assert abs(int(limit) - 250_000_000) < 4096  # the kernel rounds it to a page
