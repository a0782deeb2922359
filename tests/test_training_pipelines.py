"""TrainingPipelines over REST: a backing CustomJob, state following, Models, errors."""

from __future__ import annotations

import pytest

from conftest import SKLEARN, Server
from probe_package import probe_wheel
from tuning_package import tuning_wheel

pytestmark = pytest.mark.slow

PARENT = "projects/pipes/locations/us-central1"
CUSTOM_TASK = "gs://google-cloud-aiplatform/schema/trainingjob/definition/custom_task_1.0.0.yaml"
PROBE = "gs://test-bucket/packages/probe-0.1-py3-none-any.whl"


@pytest.fixture(scope="module", autouse=True)
def probe(server: Server) -> None:
    probe_wheel(server.home / "buckets" / "test-bucket" / "packages")


def pipeline(args: list[str], **extra: object) -> dict:
    """What the Python SDK sends: snake_case task inputs with float numbers."""
    inputs = {
        "worker_pool_specs": [
            {
                "machine_spec": {"machine_type": "n1-standard-4"},
                "replica_count": 1.0,
                "python_package_spec": {
                    "executor_image_uri": SKLEARN,
                    "package_uris": [PROBE],
                    "python_module": "probe.task",
                    "args": args,
                },
            }
        ],
        "base_output_directory": {"output_uri_prefix": "gs://test-bucket/pipe-out"},
    }
    body = {
        "displayName": "pipe",
        "trainingTaskDefinition": CUSTOM_TASK,
        "trainingTaskInputs": inputs,
        "modelToUpload": {
            "displayName": "pipe-model",
            "containerSpec": {
                "imageUri": "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-0:latest"
            },
        },
    }
    body.update(extra)
    return body


def create(server: Server, body: dict) -> dict:
    response = server.client.post(f"/v1/{PARENT}/trainingPipelines", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_pipeline_runs_a_backing_job_and_uploads_the_model(server: Server) -> None:
    created = create(server, pipeline(["--say", "from a pipeline"]))
    # As stored when answered: the backing job may already have been admitted.
    assert created["state"] in ("PIPELINE_STATE_QUEUED", "PIPELINE_STATE_PENDING")
    assert created["trainingTaskDefinition"] == CUSTOM_TASK
    assert created["trainingTaskInputs"]["worker_pool_specs"][0]["replica_count"] == 1.0
    backing = created["trainingTaskMetadata"]["backingCustomJob"]
    done = server.wait_for(created["name"], "PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED")
    assert done["state"] == "PIPELINE_STATE_SUCCEEDED", done
    job = server.get(backing)
    assert job["state"] == "JOB_STATE_SUCCEEDED" and job["displayName"] == "pipe-custom-job"
    assert "from a pipeline" in [e["text"] for e in server.logs(backing)]
    model_name = done["modelToUpload"]["name"]
    assert done["modelId"] == model_name.rsplit("/", 1)[1]
    model = server.get(model_name)
    assert model["artifactUri"] == "gs://test-bucket/pipe-out/model"
    assert model["displayName"] == "pipe-model" and model["trainingPipeline"] == done["name"]
    assert server.get(model_name + "@1") == model
    listed = server.client.get(f"/v1/{PARENT}/models").json()["models"]
    assert model_name in [m["name"] for m in listed]
    operation = server.client.delete(f"/v1/{model_name}").json()
    assert operation["done"] is True
    assert server.client.get(f"/v1/{model_name}").status_code == 404


def test_failed_backing_job_fails_the_pipeline_with_its_error(server: Server) -> None:
    created = create(server, pipeline(["--exit", "4"]))
    done = server.wait_for(created["name"], "PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED")
    assert done["state"] == "PIPELINE_STATE_FAILED"
    assert "non-zero status of 4" in done["error"]["message"]
    assert "name" not in done.get("modelToUpload", {})


def test_cancel_pipeline_cancels_its_job(server: Server) -> None:
    created = create(server, pipeline(["--sleep", "600"]))
    server.wait_for(created["name"], "PIPELINE_STATE_RUNNING")
    assert server.client.post(f"/v1/{created['name']}:cancel").json() == {}
    done = server.wait_for(created["name"], "PIPELINE_STATE_CANCELLED", timeout=30)
    assert done["error"]["code"] == 1
    backing = server.get(created["trainingTaskMetadata"]["backingCustomJob"])
    assert backing["state"] == "JOB_STATE_CANCELLED"
    operation = server.client.delete(f"/v1/{created['name']}").json()
    assert operation["done"] is True


def test_bad_pipelines_are_refused_with_the_field_named(server: Server) -> None:
    def error(body: dict) -> dict:
        response = server.client.post(f"/v1/{PARENT}/trainingPipelines", json=body)
        assert response.status_code == 400, response.text
        return dict(response.json()["error"])

    unknown = error(pipeline([], trainingTaskDefinition="gs://x/schema/automl_tables.yaml"))
    assert unknown["status"] == "INVALID_ARGUMENT"
    assert unknown["message"].startswith("training_task_definition:")
    datasets = error(pipeline([], inputDataConfig={"datasetId": "123"}))
    assert datasets["message"].startswith("input_data_config:")
    assert "not supported" in datasets["message"]
    body = pipeline([])
    body["trainingTaskInputs"]["worker_pool_specs"][0]["replica_count"] = 2
    assert error(body)["message"].startswith(
        "List of found errors:\t1.Field: training_task_inputs.worker_pool_specs[0].replica_count;"
    )
    body = pipeline([])
    body["trainingTaskInputs"]["worker_pool_specs"][0]["python_package_spec"][
        "executor_image_uri"
    ] = "nowhere/image:1"
    assert error(body)["message"].startswith("training_task_inputs.worker_pool_specs[0]")
    before = server.client.get(f"/v1/{PARENT}/trainingPipelines").json()
    assert all(p["displayName"] == "pipe" for p in before.get("trainingPipelines", []))


TUNING_TASK = "gs://google-cloud-aiplatform/schema/trainingjob/definition/hyperparameter_tuning_task_1.0.0.yaml"


def test_tuning_pipeline_uploads_the_best_trials_model(server: Server) -> None:
    tuning_wheel(server.home / "buckets" / "test-bucket" / "tuning")
    pool = {
        "machine_spec": {"machine_type": "n1-standard-4"},
        "replica_count": 1.0,
        "python_package_spec": {
            "executor_image_uri": SKLEARN,
            "package_uris": ["gs://test-bucket/tuning/tunetrial-0.1-py3-none-any.whl"],
            "python_module": "tunetrial.task",
            "args": ["--objective=-(x - 1) ** 2"],
        },
    }
    inputs = {
        "study_spec": {
            "metrics": [{"metric_id": "score", "goal": "MAXIMIZE"}],
            "parameters": [
                {"parameter_id": "x", "double_value_spec": {"min_value": -2.0, "max_value": 2.0}}
            ],
            "algorithm": "RANDOM_SEARCH",
        },
        "max_trial_count": 3.0,
        "parallel_trial_count": 1.0,
        "trial_job_spec": {
            "worker_pool_specs": [pool],
            "base_output_directory": {"output_uri_prefix": "gs://test-bucket/hp-pipe"},
        },
    }
    body = pipeline([], trainingTaskDefinition=TUNING_TASK, trainingTaskInputs=inputs)
    created = create(server, body)
    backing = created["trainingTaskMetadata"]["backingHyperparameterTuningJob"]
    done = server.wait_for(
        created["name"], "PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", timeout=300
    )
    assert done["state"] == "PIPELINE_STATE_SUCCEEDED", done
    tuning_job = server.get(backing)
    assert tuning_job["state"] == "JOB_STATE_SUCCEEDED" and len(tuning_job["trials"]) == 3
    best = max(tuning_job["trials"], key=lambda t: t["finalMeasurement"]["metrics"][0]["value"])
    model = server.get(done["modelToUpload"]["name"])
    assert model["artifactUri"] == f"gs://test-bucket/hp-pipe/{best['id']}/model"


def test_tuning_pipeline_errors_name_the_task_inputs(server: Server) -> None:
    inputs = {"study_spec": {"metrics": [], "parameters": []}, "max_trial_count": 1}
    body = pipeline([], trainingTaskDefinition=TUNING_TASK, trainingTaskInputs=inputs)
    response = server.client.post(f"/v1/{PARENT}/trainingPipelines", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("training_task_inputs.")


def test_pipelines_honour_model_id_and_parent_model(server: Server) -> None:
    first = create(server, pipeline(["--say", "v1"], modelId="pipe-named"))
    done = server.wait_for(first["name"], "PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED")
    model_name = f"{PARENT}/models/pipe-named"
    assert done["modelId"] == "pipe-named" and done["modelToUpload"]["name"] == model_name
    assert done["modelToUpload"]["versionId"] == "1"
    to_upload = pipeline(["--say", "v2"])["modelToUpload"]
    second = create(
        server,
        pipeline(
            ["--say", "v2"],
            parentModel=model_name,
            modelToUpload={**to_upload, "versionAliases": ["default"]},
        ),
    )
    done = server.wait_for(second["name"], "PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED")
    assert done["modelToUpload"]["name"] == model_name
    assert done["modelToUpload"]["versionId"] == "2" and done["modelId"] == "pipe-named"
    model = server.get(model_name)
    assert model["versionId"] == "2" and model["trainingPipeline"] == second["name"]
    assert server.get(model_name + "@1")["trainingPipeline"] == first["name"]


def test_a_model_id_taken_while_the_pipeline_ran_fails_it(server: Server) -> None:
    created = create(server, pipeline(["--sleep", "3"], modelId="raced"))
    server.wait_for(created["name"], "PIPELINE_STATE_RUNNING")
    taken = server.client.post(
        f"/v1/{PARENT}/models:upload", json={"model": {"displayName": "first"}, "modelId": "raced"}
    )
    assert taken.status_code == 200, taken.text
    done = server.wait_for(created["name"], "PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED")
    assert done["state"] == "PIPELINE_STATE_FAILED"
    assert done["error"]["code"] == 6 and "already exists" in done["error"]["message"]
    assert server.get(f"{PARENT}/models/raced")["displayName"] == "first"
