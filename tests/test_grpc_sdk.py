"""Google's Python SDK on its default transport, gRPC, against a real vertexd: only
`api_endpoint` changes (and GRPC_DEFAULT_SSL_ROOTS_FILE_PATH names vertexd's CA)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform
from google.cloud.aiplatform import hyperparameter_tuning as hpt

from conftest import SKLEARN, Server
from grpc_support import grpc_server
from probe_package import probe_wheel
from test_sdk_python import PROBE, SERVING, probe_pool
from tuning_package import tuning_wheel

pytestmark = pytest.mark.slow

TUNING = "gs://test-bucket/tuning-grpc/tunetrial-0.1-py3-none-any.whl"


@pytest.fixture(scope="module")
def sdk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = grpc_server(tmp_path_factory.mktemp("home"), "--cpus", "64", "--memory-gb", "4096")
    probe_wheel(server.home / "buckets" / "test-bucket" / "packages")
    tuning_wheel(server.home / "buckets" / "test-bucket" / "tuning-grpc")
    aiplatform.init(
        project="grpc-project",
        location="us-central1",
        api_endpoint=server.grpc_endpoint,
        # The default; said here because aiplatform.init keeps an earlier module's choice.
        api_transport="grpc",
        credentials=AnonymousCredentials(),
        staging_bucket="gs://test-bucket",
    )
    yield server
    server.stop()


def test_custom_job_runs_to_succeeded_then_is_deleted(sdk_server: Server) -> None:
    job = aiplatform.CustomJob(display_name="grpc-run", worker_pool_specs=probe_pool("--say", "hi"))
    job.run(sync=True)  # polls GetCustomJob until the job ends
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    assert "hi" in [e["text"] for e in sdk_server.logs(job.resource_name)]
    again = aiplatform.CustomJob.get(job.resource_name)
    assert again.display_name == "grpc-run"
    assert again.job_spec.worker_pool_specs[0].replica_count == 1
    listed = aiplatform.CustomJob.list(filter='display_name="grpc-run"')
    assert [j.resource_name for j in listed] == [job.resource_name]
    job.delete()  # the delete Operation, done when answered
    with pytest.raises(api_exceptions.NotFound, match="was not found"):
        aiplatform.CustomJob.get(job.resource_name)


def test_a_failed_job_raises_the_sdk_error(sdk_server: Server) -> None:
    job = aiplatform.CustomJob(
        display_name="grpc-fail", worker_pool_specs=probe_pool("--exit", "3")
    )
    with pytest.raises(RuntimeError, match="non-zero status of 3"):
        job.run(sync=True)
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_FAILED


def test_submit_then_cancel(sdk_server: Server) -> None:
    job = aiplatform.CustomJob(
        display_name="grpc-cancel", worker_pool_specs=probe_pool("--sleep", "600")
    )
    job.submit()
    job.wait_for_resource_creation()
    sdk_server.wait_for(job.resource_name, "JOB_STATE_RUNNING")
    job.cancel()
    sdk_server.wait_for(job.resource_name, "JOB_STATE_CANCELLED", timeout=30)
    cancelled = aiplatform.CustomJob.get(job.resource_name)
    assert cancelled.state == aiplatform.gapic.JobState.JOB_STATE_CANCELLED
    assert cancelled.gca_resource.error.code == 1


def test_hyperparameter_tuning_job_runs(sdk_server: Server) -> None:
    pool = {
        "machine_spec": {"machine_type": "n1-standard-4"},
        "replica_count": 1,
        "python_package_spec": {
            "executor_image_uri": SKLEARN,
            "package_uris": [TUNING],
            "python_module": "tunetrial.task",
            "args": ["--objective=x * n"],
        },
    }
    job = aiplatform.HyperparameterTuningJob(
        display_name="grpc-hp",
        custom_job=aiplatform.CustomJob(display_name="grpc-trial", worker_pool_specs=[pool]),
        metric_spec={"score": "maximize"},
        parameter_spec={
            "x": hpt.DoubleParameterSpec(min=0.1, max=1, scale="log"),
            "n": hpt.IntegerParameterSpec(min=1, max=4, scale="linear"),
        },
        max_trial_count=2,
        parallel_trial_count=2,
        search_algorithm="random",
    )
    job.run(sync=True)
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    assert len(job.trials) == 2
    for trial in job.trials:
        values = {p.parameter_id: p.value for p in trial.parameters}
        assert trial.final_measurement.metrics[0].value == pytest.approx(values["x"] * values["n"])
    assert job.resource_name in [j.resource_name for j in aiplatform.HyperparameterTuningJob.list()]
    job.delete()


def test_python_package_training_pipeline_returns_its_model(sdk_server: Server) -> None:
    training = aiplatform.CustomPythonPackageTrainingJob(
        display_name="grpc-package",
        python_package_gcs_uri=PROBE,
        python_module_name="probe.task",
        container_uri=SKLEARN,
        model_serving_container_image_uri=SERVING,
    )
    model = training.run(
        replica_count=1,
        machine_type="n1-standard-4",
        args=["--say", "pipeline over grpc"],
        base_output_dir="gs://test-bucket/grpc-package",
    )
    assert training.state == aiplatform.gapic.PipelineState.PIPELINE_STATE_SUCCEEDED
    assert model.uri == "gs://test-bucket/grpc-package/model"
    assert aiplatform.Model(model.resource_name).display_name == model.display_name
    assert model.resource_name in [m.resource_name for m in aiplatform.Model.list()]
    model.delete()
    with pytest.raises(api_exceptions.NotFound):
        aiplatform.Model(model.resource_name)


def test_models_and_their_versions(sdk_server: Server) -> None:
    kwargs = {"display_name": "grpc-model", "serving_container_image_uri": SERVING}
    model = aiplatform.Model.upload(artifact_uri="gs://test-bucket/m/1", model_id="m1", **kwargs)
    assert model.version_id == "1" and model.uri == "gs://test-bucket/m/1"
    second = aiplatform.Model.upload(
        artifact_uri="gs://test-bucket/m/2", parent_model=model.resource_name, **kwargs
    )
    assert second.resource_name == model.resource_name and second.version_id == "2"
    assert aiplatform.Model("m1@1").uri == "gs://test-bucket/m/1"
    registry = model.versioning_registry
    assert [v.version_id for v in registry.list_versions()] == ["1", "2"]
    registry.add_version_aliases(["prod"], version="1")
    assert "prod" in registry.get_version_info("1").version_aliases
    registry.delete_version("1")
    assert [v.version_id for v in registry.list_versions()] == ["2"]
    with pytest.raises(api_exceptions.AlreadyExists, match="already exists"):
        aiplatform.Model.upload(artifact_uri="gs://test-bucket/x", model_id="m1", **kwargs)
