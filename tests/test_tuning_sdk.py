"""Google's own Python SDK (google-cloud-aiplatform), unmodified, runs a tuning job on vertexd."""

from __future__ import annotations

import pytest
from google.cloud import aiplatform
from google.cloud.aiplatform import hyperparameter_tuning as hpt

from conftest import SKLEARN, Server
from test_sdk_python import use
from tuning_package import tuning_wheel

pytestmark = pytest.mark.slow

PACKAGE = "gs://test-bucket/tuning-sdk/tunetrial-0.1-py3-none-any.whl"


def test_sdk_hyperparameter_tuning_job_runs(server: Server) -> None:
    tuning_wheel(server.home / "buckets" / "test-bucket" / "tuning-sdk")
    use(server)
    pool = {
        "machine_spec": {"machine_type": "n1-standard-4"},
        "replica_count": 1,
        "python_package_spec": {
            "executor_image_uri": SKLEARN,
            "package_uris": [PACKAGE],
            "python_module": "tunetrial.task",
            "args": ["--objective=x * d + (1 if act == 'b' else 0) - n"],
        },
    }
    trial_job = aiplatform.CustomJob(display_name="sdk-trial", worker_pool_specs=[pool])
    job = aiplatform.HyperparameterTuningJob(
        display_name="sdk-hp",
        custom_job=trial_job,
        metric_spec={"score": "maximize"},
        parameter_spec={
            "x": hpt.DoubleParameterSpec(min=0.1, max=1, scale="log"),
            "n": hpt.IntegerParameterSpec(min=1, max=4, scale="linear"),
            "act": hpt.CategoricalParameterSpec(values=["a", "b"]),
            "d": hpt.DiscreteParameterSpec(values=[1, 2, 4], scale="linear"),
        },
        max_trial_count=4,
        parallel_trial_count=2,
        search_algorithm="random",
        measurement_selection="best",
    )
    job.run(sync=True)
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    trials = job.trials
    assert len(trials) == 4
    for trial in trials:
        assert trial.state == aiplatform.gapic.Trial.State.SUCCEEDED
        values = {p.parameter_id: p.value for p in trial.parameters}
        expected = values["x"] * values["d"] + (values["act"] == "b") - values["n"]
        assert trial.final_measurement.metrics[0].value == pytest.approx(expected)
        assert trial.final_measurement.step_count == 1
        assert trial.custom_job.startswith("projects/sdk-project/locations/us-central1/customJobs/")
    again = aiplatform.HyperparameterTuningJob.get(job.resource_name)
    assert again.display_name == "sdk-hp"
    assert job.resource_name in [j.resource_name for j in aiplatform.HyperparameterTuningJob.list()]
    job.delete()
