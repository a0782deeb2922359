"""Google's Python SDK runs a custom-container training job on vertexd's container engine."""

# ruff: noqa: F811 - pytest fixtures imported from container_support are used as arguments
from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform

from conftest import Server
from container_support import (  # noqa: F401 - fixtures: engine, images, leftover check
    container_server,
    docker_client,
    engine_url,
    images,
    no_leftover_containers,
)

pytestmark = pytest.mark.slow

SERVING = "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-0:latest"
TRAIN = (
    'echo "training in a container: $*"; mkdir -p /gcs/test-bucket/sdk-container/model; '
    "echo weights > /gcs/test-bucket/sdk-container/model/weights.txt"
)


@pytest.fixture(scope="module")
def engine_server(
    tmp_path_factory: pytest.TempPathFactory, engine_url: str, images: dict[str, str]
) -> Iterator[Server]:
    running = container_server(tmp_path_factory.mktemp("home"), engine_url)
    running.start()
    yield running
    running.stop()


def test_custom_container_training_job_runs_and_uploads_its_model(
    engine_server: Server, images: dict[str, str], docker_client: object
) -> None:
    aiplatform.init(
        project="sdk-project",
        location="us-central1",
        api_endpoint=engine_server.url,
        api_transport="rest",
        credentials=AnonymousCredentials(),
        staging_bucket="gs://test-bucket",
    )
    training = aiplatform.CustomContainerTrainingJob(
        display_name="sdk-container",
        container_uri=images["busybox"],
        command=["sh", "-c", TRAIN, "train"],
        model_serving_container_image_uri=SERVING,
    )
    model = training.run(
        args=["--epochs", "2"],
        replica_count=1,
        machine_type="n1-standard-4",
        base_output_dir="gs://test-bucket/sdk-container",
    )
    assert training.state == aiplatform.gapic.PipelineState.PIPELINE_STATE_SUCCEEDED
    assert model.uri == "gs://test-bucket/sdk-container/model"
    weights = engine_server.home / "buckets" / "test-bucket" / "sdk-container" / "model"
    assert (weights / "weights.txt").read_text() == "weights\n"
    backing = training._gca_resource.training_task_metadata["backingCustomJob"]
    lines = [e["text"] for e in engine_server.logs(backing)]
    assert "training in a container: --epochs 2" in lines
