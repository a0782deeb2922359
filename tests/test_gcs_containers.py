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


SCRIPT = """
import os, sys
print("script in a container says", " ".join(sys.argv[1:]))
"""
# The test image has no network: pip installs the SDK's package offline, with the image's
# own setuptools, into Debian's system Python (which PEP 668 guards otherwise).
OFFLINE_PIP = {"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"}
OFFLINE_PIP["PIP_BREAK_SYSTEM_PACKAGES"] = "1"


def test_sdk_from_local_script_in_a_custom_container_installs_from_gcs(
    engine_server: Server,
    images: dict[str, str],
    docker_client: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", engine_server.url)
    (engine_server.home / "buckets" / "sdk-staging").mkdir(parents=True, exist_ok=True)
    aiplatform.init(
        project="sdk-project",
        location="us-central1",
        api_endpoint=engine_server.url,
        api_transport="rest",
        credentials=AnonymousCredentials(),
        staging_bucket="gs://sdk-staging",
    )
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    job = aiplatform.CustomJob.from_local_script(
        display_name="sdk-script-container",
        script_path=str(script),
        container_uri=images["python"],
        args=["--hello", "container"],
        environment_variables=OFFLINE_PIP,
    )
    job.run(sync=True)
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    assert "script in a container says --hello container" in texts(engine_server, job.resource_name)
