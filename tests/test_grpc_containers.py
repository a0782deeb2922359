"""Google's Python SDK on its default transport (gRPC) runs a custom-container training
pipeline on vertexd's container engine."""

# ruff: noqa: F811 - pytest fixtures imported from container_support are used as arguments
from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform

from conftest import Server
from container_support import (  # noqa: F401 - fixtures: engine, images, leftover check
    docker_client,
    engine_url,
    images,
    no_leftover_containers,
)
from grpc_support import grpc_server
from test_sdk_containers import SERVING

pytestmark = pytest.mark.slow

TRAIN = (
    'echo "grpc container: $*"; mkdir -p /gcs/test-bucket/grpc-container/model; '
    "echo weights > /gcs/test-bucket/grpc-container/model/weights.txt"
)


@pytest.fixture(scope="module")
def engine_server(
    tmp_path_factory: pytest.TempPathFactory, engine_url: str, images: dict[str, str]
) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("home")
    running = grpc_server(home, "--cpus", "64", "--container-engine", engine_url)
    yield running
    running.stop()


def test_custom_container_training_job_over_grpc(
    engine_server: Server, images: dict[str, str], docker_client: object
) -> None:
    aiplatform.init(
        project="grpc-project",
        location="us-central1",
        api_endpoint=engine_server.grpc_endpoint,
        api_transport="grpc",  # the default, said because aiplatform.init keeps earlier ones
        credentials=AnonymousCredentials(),
        staging_bucket="gs://test-bucket",
    )
    training = aiplatform.CustomContainerTrainingJob(
        display_name="grpc-container",
        container_uri=images["busybox"],
        command=["sh", "-c", TRAIN, "train"],
        model_serving_container_image_uri=SERVING,
    )
    model = training.run(
        args=["--epochs", "2"],
        replica_count=1,
        machine_type="n1-standard-4",
        base_output_dir="gs://test-bucket/grpc-container",
    )
    assert training.state == aiplatform.gapic.PipelineState.PIPELINE_STATE_SUCCEEDED
    assert model.uri == "gs://test-bucket/grpc-container/model"
    weights = engine_server.home / "buckets" / "test-bucket" / "grpc-container" / "model"
    assert (weights / "weights.txt").read_text() == "weights\n"
    backing = training._gca_resource.training_task_metadata["backingCustomJob"]
    assert "grpc container: --epochs 2" in [e["text"] for e in engine_server.logs(backing)]
