"""Google's own Python SDK (google-cloud-aiplatform), unmodified, against a real vertexd."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform

from conftest import SKLEARN, Server
from probe_package import probe_wheel

pytestmark = pytest.mark.slow

PROBE = "gs://test-bucket/packages/probe-0.1-py3-none-any.whl"
SERVING = "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-0:latest"


def use(server: Server, staging_bucket: str = "gs://test-bucket") -> None:
    aiplatform.init(
        project="sdk-project",
        location="us-central1",
        api_endpoint=server.url,
        api_transport="rest",
        credentials=AnonymousCredentials(),
        staging_bucket=staging_bucket,
    )


def probe_pool(*args: str) -> list[dict]:
    return [
        {
            "machine_spec": {"machine_type": "n1-standard-4"},
            "replica_count": 1,
            "python_package_spec": {
                "executor_image_uri": SKLEARN,
                "package_uris": [PROBE],
                "python_module": "probe.task",
                "args": list(args),
            },
        }
    ]


@pytest.fixture(scope="module")
def sdk_server(server: Server) -> Server:
    probe_wheel(server.home / "buckets" / "test-bucket" / "packages")
    use(server)
    return server


def test_custom_job_run_get_list_and_delete(sdk_server: Server) -> None:
    job = aiplatform.CustomJob(display_name="sdk-run", worker_pool_specs=probe_pool("--say", "sdk"))
    job.run(sync=True)
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    again = aiplatform.CustomJob.get(job.resource_name)
    assert again.display_name == "sdk-run"
    assert job.resource_name in [j.resource_name for j in aiplatform.CustomJob.list()]
    assert "sdk" in [e["text"] for e in sdk_server.logs(job.resource_name)]
    job.delete()
    with pytest.raises(api_exceptions.NotFound):
        aiplatform.CustomJob.get(job.resource_name)


def test_failed_job_raises_the_sdk_error(sdk_server: Server) -> None:
    job = aiplatform.CustomJob(display_name="sdk-fail", worker_pool_specs=probe_pool("--exit", "3"))
    with pytest.raises(RuntimeError, match="non-zero status of 3"):
        job.run(sync=True)
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_FAILED


def test_submit_then_cancel(sdk_server: Server) -> None:
    job = aiplatform.CustomJob(
        display_name="sdk-cancel", worker_pool_specs=probe_pool("--sleep", "600")
    )
    job.submit()
    job.wait_for_resource_creation()
    sdk_server.wait_for(job.resource_name, "JOB_STATE_RUNNING")
    job.cancel()
    sdk_server.wait_for(job.resource_name, "JOB_STATE_CANCELLED", timeout=30)
    assert aiplatform.CustomJob.get(job.resource_name).state == (
        aiplatform.gapic.JobState.JOB_STATE_CANCELLED
    )


def test_python_package_training_job_returns_its_model(sdk_server: Server) -> None:
    training = aiplatform.CustomPythonPackageTrainingJob(
        display_name="sdk-package",
        python_package_gcs_uri=PROBE,
        python_module_name="probe.task",
        container_uri=SKLEARN,
        model_serving_container_image_uri=SERVING,
    )
    model = training.run(
        replica_count=1,
        machine_type="n1-standard-4",
        args=["--say", "package pipeline"],
        base_output_dir="gs://test-bucket/sdk-package",
    )
    assert training.state == aiplatform.gapic.PipelineState.PIPELINE_STATE_SUCCEEDED
    assert model.uri == "gs://test-bucket/sdk-package/model"
    assert aiplatform.Model(model.resource_name).display_name == model.display_name


# -- jobs whose code the SDK uploads to Cloud Storage: vertexd's own, over the local buckets --


@pytest.fixture
def staging(sdk_server: Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """The SDK's one setting for its uploads: STORAGE_EMULATOR_HOST is vertexd."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", sdk_server.url)
    (sdk_server.home / "buckets" / "sdk-staging").mkdir(exist_ok=True)  # a folder is a bucket
    use(sdk_server, "gs://sdk-staging")
    return "sdk-staging"


TRAINING_SCRIPT = """
import os, sys
print("script says", " ".join(sys.argv[1:]))
print("trial", os.environ.get("CLOUD_ML_JOB_ID"))
"""


MODEL_SCRIPT = """
import os
from google.cloud import storage

bucket, _, path = os.environ["AIP_MODEL_DIR"][len("gs://"):].partition("/")
storage.Client().bucket(bucket).blob(path + "model.txt").upload_from_string("a model")
"""


def test_from_local_script_runs_the_package_the_sdk_uploaded(
    sdk_server: Server, staging: str, tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(TRAINING_SCRIPT)
    job = aiplatform.CustomJob.from_local_script(
        display_name="sdk-script",
        script_path=str(script),
        container_uri=SKLEARN,
        args=["--hello", "world"],
        machine_type="n1-standard-4",
    )
    job.run(sync=True)
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    texts = [e["text"] for e in sdk_server.logs(job.resource_name)]
    assert "script says --hello world" in texts
    staged = sdk_server.home / "buckets" / staging
    assert list(staged.glob("**/*.tar.gz")), "the SDK's upload is a file of the local bucket"


def test_custom_training_job_from_a_script(
    sdk_server: Server, staging: str, tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(MODEL_SCRIPT)
    training = aiplatform.CustomTrainingJob(
        display_name="sdk-script-pipeline",
        script_path=str(script),
        container_uri=SKLEARN,
        model_serving_container_image_uri=SERVING,
    )
    model = training.run(replica_count=1, machine_type="n1-standard-4", args=["--x", "1"])
    assert training.state == aiplatform.gapic.PipelineState.PIPELINE_STATE_SUCCEEDED
    assert model.resource_name.startswith("projects/sdk-project/locations/us-central1/models/")
    assert model.uri.startswith(f"gs://{staging}/")
    saved = sdk_server.home / "buckets" / model.uri[len("gs://") :] / "model.txt"
    assert saved.read_text() == "a model"
