"""A container replica is given its own GPUs by id: the engine's device request names them
(read back through the Engine API; no CUDA needed, the container is created, not started)."""
# ruff: noqa: F811 - pytest fixtures imported from container_support are used as arguments

from __future__ import annotations

import docker
import pytest

from container_support import (  # noqa: F401 - fixtures: engine, images, leftover check
    docker_client,
    engine_url,
    images,
    no_leftover_containers,
)
from vertexd.backends.container.engine import ContainerSpec, Engine, EngineError


def test_the_device_request_names_the_replicas_devices(
    container_engine: str,
    engine_url: str,
    images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    spec = ContainerSpec(
        name="vertexd-gpu-request-test",
        image=images["busybox"],
        entrypoint=None,
        cmd=None,
        env={"CUDA_VISIBLE_DEVICES": "GPU-aaaa,GPU-bbbb"},
        labels={"vertexd.test": "gpus"},
        gpus=2,
        gpu_ids=("GPU-aaaa", "GPU-bbbb"),
    )
    engine = Engine(engine_url)
    try:
        if container_engine == "podman":  # its Docker API ignores device requests: refused
            with pytest.raises(EngineError, match="ignores GPU requests"):
                engine.create(spec)
            return
        container = engine.create(spec)
        try:
            requests = docker_client.api.inspect_container(container)["HostConfig"][
                "DeviceRequests"
            ]
            assert [(r["DeviceIDs"], r["Capabilities"], r["Count"]) for r in requests] == [
                (["GPU-aaaa", "GPU-bbbb"], [["gpu"]], 0)
            ]
        finally:
            engine.remove(container)
    finally:
        engine.close()
