"""A container replica reaches the local buckets with google-cloud-storage: it gets
STORAGE_EMULATOR_HOST (vertexd, on the host network) and the same objects are at /gcs.

The test image has Python but no network and no google-cloud-storage, so the client library
is installed (by uv, from its cache) into the bucket itself and found through /gcs.
"""

# ruff: noqa: F811 - pytest fixtures imported from container_support are used as arguments
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Server
from container_support import (  # noqa: F401 - fixtures: engine, images, leftover check
    container_job,
    container_server,
    docker_client,
    engine_url,
    images,
    no_leftover_containers,
    texts,
)

pytestmark = pytest.mark.slow
BUCKET = "container-bucket"

TRAIN = """
import os
from google.cloud import storage

bucket_name, _, prefix = os.environ["AIP_MODEL_DIR"][len("gs://"):].partition("/")
bucket = storage.Client().bucket(bucket_name)
bucket.blob(prefix + "model.txt").upload_from_string("from a container")
print("seen at /gcs:", open("/gcs/" + bucket_name + "/" + prefix + "model.txt").read())
"""


@pytest.fixture(scope="module")
def engine_server(
    tmp_path_factory: pytest.TempPathFactory, engine_url: str, images: dict[str, str]
) -> Iterator[Server]:
    running = container_server(tmp_path_factory.mktemp("home"), engine_url)
    running.start()
    yield running
    running.stop()


def install_client_into(target: Path) -> None:
    from uv import find_uv_bin

    command = [str(find_uv_bin()), "pip", "install", "--quiet", "--target", str(target)]
    command += ["--python", sys.executable, "google-cloud-storage"]
    subprocess.run(command, check=True, capture_output=True, timeout=300)


def test_a_container_writes_its_model_with_google_cloud_storage(
    engine_server: Server, images: dict[str, str], docker_client: object
) -> None:
    bucket = engine_server.home / "buckets" / BUCKET
    install_client_into(bucket / "pylib")
    job = container_job(
        images["python"],
        command=["python3", "-c", TRAIN],
        env={"PYTHONPATH": f"/gcs/{BUCKET}/pylib"},
        baseOutputDirectory={"outputUriPrefix": f"gs://{BUCKET}/run"},
    )
    created = engine_server.create(job)
    name = created.json()["name"]
    done = engine_server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=180)
    assert done["state"] == "JOB_STATE_SUCCEEDED", texts(engine_server, name)
    assert (bucket / "run" / "model" / "model.txt").read_text() == "from a container"
    assert "seen at /gcs: from a container" in texts(engine_server, name)
