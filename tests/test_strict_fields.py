"""Request bodies are read as Google's JSON parser reads them: unknown names are refused in its
words with a google.rpc.BadRequest detail and nothing is stored; output-only fields are
ignored; v1 fields vertexd does not model are kept and returned as sent, and a job that uses
one that changes what it does gets a WARNING line in its log."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import PARENT, SKLEARN
from vertexd.api.app import create_app
from vertexd.settings import Settings

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
POOL = {
    "machineSpec": {"machineType": "n1-standard-4"},
    "replicaCount": "1",
    "pythonPackageSpec": {
        "executorImageUri": SKLEARN,
        "packageUris": ["gs://no-such-bucket/never-run.tar.gz"],
        "pythonModule": "trainer.task",
    },
}
CUSTOM_TASK = "gs://google-cloud-aiplatform/schema/trainingjob/definition/custom_task_1.0.0.yaml"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # A zero CPU budget, and a package that does not exist: no job of this module runs.
    settings = Settings(home=tmp_path_factory.mktemp("home"), cpus=0, container_engine="none")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def job(pool: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    body = {"displayName": "strict", "jobSpec": {"workerPoolSpecs": [copy.deepcopy(pool or POOL)]}}
    body.update(changes)
    return body


def refused(api: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/v1/{PARENT}/{path}", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["code"] == 400
    return dict(error)


def unknown(name: str, at: str) -> str:
    return f"Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field."


def test_a_misspelt_field_is_refused_in_googles_words_with_a_bad_request_detail(
    api: TestClient,
) -> None:
    parent = "projects/strict-typo/locations/us-central1"
    response = api.post(f"/v1/{parent}/customJobs", json=job(displayNmae="x"))
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["message"] == unknown("displayNmae", "custom_job")
    assert error["details"] == [
        {
            "@type": BAD_REQUEST,
            "fieldViolations": [
                {"field": "custom_job", "description": unknown("displayNmae", "custom_job")}
            ],
        }
    ]
    assert api.get(f"/v1/{parent}/customJobs").json().get("customJobs", []) == []


def test_every_unknown_name_is_named_with_its_path(api: TestClient) -> None:
    pool = copy.deepcopy(POOL)
    pool["replicaCont"] = "1"
    pool["machineSpec"]["acceleratorTyp"] = 5
    body = job(pool)
    body["jobSpec"]["schedulng"] = {"timeout": "60s"}
    error = refused(api, "customJobs", body)
    wanted = [
        ("custom_job.job_spec.worker_pool_specs[0].machine_spec", "acceleratorTyp"),
        ("custom_job.job_spec.worker_pool_specs[0]", "replicaCont"),
        ("custom_job.job_spec", "schedulng"),
    ]
    violations = error["details"][0]["fieldViolations"]
    assert sorted((v["field"], v["description"]) for v in violations) == sorted(
        (at, unknown(name, at)) for at, name in wanted
    )
    assert sorted(error["message"].split("\n")) == sorted(unknown(n, at) for at, n in wanted)


def test_values_of_the_wrong_json_type_are_refused(api: TestClient) -> None:
    body = job(POOL)
    body["jobSpec"]["scheduling"] = [{"timeout": "60s"}]
    error = refused(api, "customJobs", body)
    assert error["message"] == (
        "Invalid JSON payload received. Unknown name \"scheduling\" at 'custom_job.job_spec': "
        "Proto field is not repeating, cannot start list."
    )
    pool = {**POOL, "lustreMounts": {"instanceIp": "10.0.0.2"}}
    assert refused(api, "customJobs", job(pool))["message"] == (
        "Invalid value at 'custom_job.job_spec.worker_pool_specs[0].lustre_mounts' "
        '(type.googleapis.com/google.cloud.aiplatform.v1.LustreMount), {"instanceIp":"10.0.0.2"}'
    )
    pool = {**POOL, "machineSpec": {"machineType": "n1-standard-4", "acceleratorType": "GTX"}}
    assert refused(api, "customJobs", job(pool))["message"] == (
        "Invalid value at 'custom_job.job_spec.worker_pool_specs[0].machine_spec."
        "accelerator_type' (type.googleapis.com/google.cloud.aiplatform.v1.AcceleratorType), "
        '"GTX"'
    )


def test_proto_names_and_output_only_fields_are_accepted(api: TestClient) -> None:
    body = {
        "display_name": "snake",
        "job_spec": {"worker_pool_specs": [POOL]},
        "state": "JOB_STATE_SUCCEEDED",
        "webAccessUris": {},
        "createTime": "2020-01-01T00:00:00Z",
        "satisfiesPzs": True,
        "error": {"code": 3},
    }
    response = api.post(f"/v1/{PARENT}/customJobs", json=body)
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["displayName"] == "snake" and created["state"] == "JOB_STATE_QUEUED"
    assert created["createTime"] != "2020-01-01T00:00:00Z"
    assert "satisfiesPzs" not in created and "error" not in created
    assert "webAccessUris" not in created


UNMODELLED_SPEC = {
    "pscInterfaceConfig": {"networkAttachment": "projects/p/regions/r/networkAttachments/a"},
    "reservedIpRanges": ["vertex-range"],
    "protectedArtifactLocationId": "us-central1",
    "models": ["projects/p/locations/us-central1/models/1"],
    "experiment": "projects/p/locations/us-central1/metadataStores/default/contexts/e",
    "experimentRun": "projects/p/locations/us-central1/metadataStores/default/contexts/e-r",
    "scheduling": {"timeout": "3600s", "strategy": "SPOT", "maxWaitDuration": "1800s"},
}
UNMODELLED_POOL = {
    "lustreMounts": [{"instanceIp": "10.0.0.2", "volumeHandle": "fs", "filesystem": "lfs",
                      "mountPoint": "lustre"}],
    "nfsMounts": [{"server": "10.0.0.3", "path": "/share", "mountPoint": "nfs"}],
}  # fmt: skip


def test_v1_fields_vertexd_does_not_model_are_stored_and_returned_as_sent(
    api: TestClient,
) -> None:
    pool = copy.deepcopy({**POOL, **UNMODELLED_POOL})
    pool["machineSpec"].update(gpuPartitionSize="1g.10gb", acceleratorType="NVIDIA_TESLA_T4")
    pool["machineSpec"]["acceleratorCount"] = 1
    body = job(
        pool, encryptionSpec={"kmsKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"}
    )
    body["jobSpec"].update(copy.deepcopy(UNMODELLED_SPEC))
    response = api.post(f"/v1/{PARENT}/customJobs", json=body)
    assert response.status_code == 200, response.text
    for shown in (response.json(), api.get(f"/v1/{response.json()['name']}").json()):
        spec = shown["jobSpec"]
        for field, value in UNMODELLED_SPEC.items():
            assert spec[field] == value, field
        stored_pool = spec["workerPoolSpecs"][0]
        for field, value in UNMODELLED_POOL.items():
            assert stored_pool[field] == value, field
        assert stored_pool["machineSpec"]["gpuPartitionSize"] == "1g.10gb"
        assert shown["encryptionSpec"] == body["encryptionSpec"]


def test_a_job_using_fields_that_change_what_it_does_is_warned_once_per_field(
    api: TestClient,
) -> None:
    pool = copy.deepcopy({**POOL, **UNMODELLED_POOL})
    pool["machineSpec"]["gpuPartitionSize"] = "1g.10gb"
    body = job(pool)
    body["jobSpec"].update(copy.deepcopy(UNMODELLED_SPEC))
    created = api.post(f"/v1/{PARENT}/customJobs", json=body).json()
    lines = [e["text"] for e in api.get(f"/v1/{created['name']}/logs").json()["entries"]]
    warnings = [line for line in lines if "is stored but not acted on" in line]
    expected = [
        "job_spec.reserved_ip_ranges",
        "job_spec.psc_interface_config",
        "job_spec.experiment",
        "job_spec.protected_artifact_location_id",
        "job_spec.scheduling.strategy",
        "job_spec.worker_pool_specs[0].nfs_mounts",
        "job_spec.worker_pool_specs[0].lustre_mounts",
        "job_spec.worker_pool_specs[0].machine_spec.gpu_partition_size",
    ]
    for field in expected:
        named = [
            w for w in warnings if w.startswith(f"WARNING: {field} is stored but not acted on")
        ]
        assert len(named) == 1, (field, warnings)
    assert len(warnings) == len(expected), "\n".join(warnings)


def test_training_pipeline_and_its_task_inputs_are_checked(api: TestClient) -> None:
    inputs = {"worker_pool_specs": [{**POOL, "replica_cuont": 1.0}]}
    body = {
        "displayName": "strict-pipe",
        "trainingTaskDefinition": CUSTOM_TASK,
        "trainingTaskInputs": inputs,
    }
    at = "training_pipeline.training_task_inputs.worker_pool_specs[0]"
    assert refused(api, "trainingPipelines", body)["message"] == unknown("replica_cuont", at)
    body["trainingTaskInputs"] = {"worker_pool_specs": [POOL]}
    body["modelToUpload"] = {"displayName": "m", "artifactUri": "gs://b/m", "versionId": "7"}
    assert refused(api, "trainingPipelines", {**body, "inputDataConfg": {}})["message"] == (
        unknown("inputDataConfg", "training_pipeline")
    )


def test_tuning_job_is_checked(api: TestClient) -> None:
    body = {
        "displayName": "strict-hp",
        "studySpec": {
            "metrics": [{"metricId": "m", "goal": "MAXIMIZE"}],
            "parameters": [{"parameterId": "x", "doubleValueSpec": {"minValue": 0, "maxVal": 1}}],
        },
        "maxTrialCount": 1,
        "parallelTrialCount": 1,
        "trialJobSpec": {"workerPoolSpecs": [POOL]},
    }
    at = "hyperparameter_tuning_job.study_spec.parameters[0].double_value_spec"
    error = refused(api, "hyperparameterTuningJobs", body)
    assert error["message"] == unknown("maxVal", at)
    assert error["details"][0]["fieldViolations"][0]["field"] == at


def pool_on(machine_type: str, accelerator: str | None = None, count: int = 1) -> dict:
    machine: dict[str, Any] = {"machineType": machine_type}
    if accelerator:
        machine.update(acceleratorType=accelerator, acceleratorCount=count)
    return {**POOL, "machineSpec": machine}


def test_accelerators_follow_vertex_machine_families(api: TestClient) -> None:
    for machine, accelerator in (
        ("n1-standard-4", "NVIDIA_TESLA_A100"),
        ("e2-standard-8", "NVIDIA_TESLA_K80"),
        ("a2-highgpu-1g", "NVIDIA_TESLA_T4"),
        ("a2-ultragpu-1g", "NVIDIA_TESLA_A100"),
        ("g2-standard-4", "NVIDIA_H100_80GB"),
    ):
        message = refused(api, "customJobs", job(pool_on(machine, accelerator)))["message"]
        assert message.startswith(
            f'Accelerator "{accelerator}" is not supported for machine type "{machine}". '
        ), message
    message = refused(api, "customJobs", job(pool_on("e2-standard-8", "NVIDIA_TESLA_T4")))
    assert message["message"].endswith('Machine type "e2-standard-8" takes no accelerators.')
    message = refused(api, "customJobs", job(pool_on("a3-highgpu-1g", "NVIDIA_L4")))
    assert message["message"].endswith('Machine type "a3-highgpu-1g" takes NVIDIA_H100_80GB.')
    for machine, accelerator in (
        ("n1-standard-4", "NVIDIA_TESLA_T4"),
        ("a2-highgpu-1g", "NVIDIA_TESLA_A100"),
        ("a2-ultragpu-1g", "NVIDIA_A100_80GB"),
        ("a3-highgpu-1g", "NVIDIA_H100_80GB"),
        ("g2-standard-4", "NVIDIA_L4"),
    ):  # accepted: refused later only because this host has no such GPU, if at all
        response = api.post(f"/v1/{PARENT}/customJobs", json=job(pool_on(machine, accelerator)))
        assert "is not supported for machine type" not in response.text


def found(field: str, words: str) -> str:
    return f"List of found errors:\t1.Field: {field}; Message: {words}"


def test_pool_rules_in_vertex_form(api: TestClient) -> None:
    pools = "job_spec.worker_pool_specs"
    cases = [
        (
            job(pool_on("n9-huge-1")),
            found(f"{pools}[0].machine_spec.machine_type", 'Machine type "n9-huge-1"'),
        ),
        (job({**POOL, "replicaCount": "3"}), found(f"{pools}[0].replica_count", "The first")),
        ({"displayName": "x", "jobSpec": {"workerPoolSpecs": []}}, found(pools, "At least one")),
        (
            {"displayName": "x", "jobSpec": {"workerPoolSpecs": [{}, POOL]}},
            found(f"{pools}[0]", ""),
        ),
        (
            {"displayName": "x", "jobSpec": {"workerPoolSpecs": [POOL] * 5}},
            found(pools, "At most 4 worker pools are supported, got 5."),
        ),
    ]
    for body, start in cases:
        message = refused(api, "customJobs", body)["message"]
        assert message.startswith(start) and message.endswith(".\t"), message
