"""The v1 wire format: validation messages, enums, int64, list/filter/paging, delete, errors."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from conftest import PARENT, SKLEARN
from vertexd.api.app import create_app
from vertexd.settings import Settings

CONTAINER_POOL = {
    "machineSpec": {"machineType": "n1-standard-4"},
    "replicaCount": "1",
    "containerSpec": {"imageUri": "local/busybox:1"},
}
PYTHON_POOL = {
    "machineSpec": {"machineType": "n1-standard-4"},
    "replicaCount": "1",
    "pythonPackageSpec": {
        "executorImageUri": SKLEARN,
        "packageUris": ["gs://no-such-bucket/never-run.tar.gz"],
        "pythonModule": "trainer.task",
    },
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # No job of this module may start: a zero budget keeps every valid job QUEUED... except
    # that a job alone always runs. So valid jobs here name a package that does not exist.
    settings = Settings(home=tmp_path_factory.mktemp("home"), cpus=0, container_engine="none")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def job_with(pool: dict | None = None, **changes: object) -> dict:
    job = {
        "displayName": "wire",
        "jobSpec": {"workerPoolSpecs": [copy.deepcopy(pool or PYTHON_POOL)]},
    }
    job.update(changes)
    return job


def error_of(api: TestClient, job: dict) -> dict:
    response = api.post(f"/v1/{PARENT}/customJobs", json=job)
    assert response.status_code >= 400, response.text
    body = response.json()["error"]
    assert body["code"] == response.status_code
    return body


def invalid(api: TestClient, job: dict) -> str:
    body = error_of(api, job)
    assert body["status"] == "INVALID_ARGUMENT", body
    return str(body["message"])


def test_neither_or_both_of_container_and_python_spec(api: TestClient) -> None:
    neither = {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1"}
    both = {**PYTHON_POOL, "containerSpec": {"imageUri": "x"}}
    for pool in (neither, both):
        message = invalid(api, job_with(pool))
        assert message.startswith("job_spec.worker_pool_specs[0]: Exactly one of")


def test_first_pool_rules(api: TestClient) -> None:
    assert "worker_pool_specs[0]" in invalid(
        api, {"displayName": "x", "jobSpec": {"workerPoolSpecs": [{}]}}
    )
    message = invalid(api, job_with({**PYTHON_POOL, "replicaCount": "2"}))
    assert message.startswith(
        "List of found errors:\t1.Field: job_spec.worker_pool_specs[0].replica_count; Message: "
    )
    assert "job_spec.worker_pool_specs" in invalid(
        api, {"displayName": "x", "jobSpec": {"workerPoolSpecs": []}}
    )


def test_more_than_four_pools(api: TestClient) -> None:
    job = job_with()
    job["jobSpec"]["workerPoolSpecs"] += [copy.deepcopy(PYTHON_POOL) for _ in range(4)]
    assert "At most 4 worker pools" in invalid(api, job)


def test_accelerator_type_and_count_go_together(api: TestClient) -> None:
    pool = copy.deepcopy(PYTHON_POOL)
    pool["machineSpec"]["acceleratorType"] = 5  # NVIDIA_TESLA_T4, as the SDK sends it
    vertex = (  # Vertex's words, then vertexd's hint
        "List of found errors:\t1.Field: job_spec.worker_pool_specs[0].machine_spec."
        "accelerator_type; Message: Both `accelerator_type` and `accelerator_count` should be "
        "specified or none."
    )
    assert invalid(api, job_with(pool)) == (
        f"{vertex} accelerator_count must be set when accelerator_type is set.\t"
    )
    pool["machineSpec"] = {"machineType": "n1-standard-4", "acceleratorCount": 1}
    assert invalid(api, job_with(pool)) == (
        f"{vertex} accelerator_type must be set when accelerator_count is set.\t"
    )
    pool["machineSpec"]["acceleratorType"] = "NO_SUCH_GPU"
    assert "accelerator_type" in invalid(api, job_with(pool))


def test_unknown_machine_type(api: TestClient) -> None:
    pool = {**PYTHON_POOL, "machineSpec": {"machineType": "n9-huge-1"}}
    assert 'Machine type "n9-huge-1" is not supported.' in invalid(api, job_with(pool))


def test_too_many_env_vars_and_package_uris(api: TestClient) -> None:
    pool = copy.deepcopy(PYTHON_POOL)
    pool["pythonPackageSpec"]["env"] = [{"name": f"V{i}", "value": "1"} for i in range(101)]
    assert "python_package_spec.env" in invalid(api, job_with(pool))
    pool = copy.deepcopy(PYTHON_POOL)
    pool["pythonPackageSpec"]["packageUris"] = [f"gs://b/p{i}.tar.gz" for i in range(101)]
    assert "python_package_spec.package_uris" in invalid(api, job_with(pool))


def test_missing_required_fields(api: TestClient) -> None:
    for field, path in (
        ("executorImageUri", "python_package_spec.executor_image_uri"),
        ("pythonModule", "python_package_spec.python_module"),
    ):
        pool = copy.deepcopy(PYTHON_POOL)
        del pool["pythonPackageSpec"][field]
        assert invalid(api, job_with(pool)).startswith(f"job_spec.worker_pool_specs[0].{path}:")
    pool = {**CONTAINER_POOL, "containerSpec": {"args": ["x"]}}
    assert invalid(api, job_with(pool)).startswith(
        "job_spec.worker_pool_specs[0].container_spec.image_uri:"
    )
    assert invalid(api, {"jobSpec": {"workerPoolSpecs": [PYTHON_POOL]}}).startswith("display_name")


def test_unknown_executor_image_lists_known_ones(api: TestClient) -> None:
    pool = copy.deepcopy(PYTHON_POOL)
    pool["pythonPackageSpec"]["executorImageUri"] = "example.com/my/own-image:1"
    message = invalid(api, job_with(pool))
    assert "example.com/my/own-image:1" in message and "sklearn-cpu" in message


def test_container_needs_an_engine(api: TestClient) -> None:
    body = error_of(api, job_with(CONTAINER_POOL))
    assert body["status"] == "FAILED_PRECONDITION" and "container engine" in body["message"]


def test_malformed_json_and_wrong_types_are_clean_errors(api: TestClient) -> None:
    json_type = {"Content-Type": "application/json"}
    response = api.post(f"/v1/{PARENT}/customJobs", content=b"{not json", headers=json_type)
    assert response.status_code == 400 and response.json()["error"]["status"] == "INVALID_ARGUMENT"
    pool = {**PYTHON_POOL, "replicaCount": "one"}
    assert "replica_count" in invalid(api, job_with(pool))
    assert api.get(f"/v1/{PARENT}/customJobs/123").json()["error"]["status"] == "NOT_FOUND"
    assert api.get("/v1/nothing/here").json()["error"]["code"] == 404


def test_created_job_echoes_the_resource_with_defaults_and_int_enums(api: TestClient) -> None:
    pool = copy.deepcopy(PYTHON_POOL)
    pool["replicaCount"] = 1.0  # the SDK's google.protobuf.Value numbers
    job = job_with(pool, labels={"team": "a"}, webAccessUris={}, state="JOB_STATE_SUCCEEDED")
    response = api.post(
        f"/v1/{PARENT}/customJobs", params={"$alt": "json;enum-encoding=int"}, json=job
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"].startswith(f"{PARENT}/customJobs/")
    assert body["state"] == 1  # JOB_STATE_QUEUED as an int: the request asked for ints
    spec = body["jobSpec"]["workerPoolSpecs"][0]
    assert spec["replicaCount"] == "1"
    assert spec["diskSpec"] == {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100}
    named = api.get(f"/v1/{body['name']}").json()
    assert named["state"] in ("JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_FAILED")
    assert named["labels"] == {"team": "a"} and "createTime" in named


def test_list_filters_pages_and_orders(api: TestClient) -> None:
    parent = "projects/listing/locations/europe-west4"
    names = []
    for index in range(5):
        job = job_with(
            displayName=f"list-{index}", labels={"parity": "even" if index % 2 == 0 else "odd"}
        )
        names.append(api.post(f"/v1/{parent}/customJobs", json=job).json()["name"])
    url = f"/v1/{parent}/customJobs"
    listed = api.get(url).json()["customJobs"]
    assert [j["name"] for j in listed] == names[::-1]  # newest first
    evens = api.get(url, params={"filter": "labels.parity=even"}).json()["customJobs"]
    assert sorted(j["displayName"] for j in evens) == ["list-0", "list-2", "list-4"]
    one = api.get(url, params={"filter": 'display_name="list-3"'}).json()["customJobs"]
    assert [j["displayName"] for j in one] == ["list-3"]
    page = api.get(url, params={"pageSize": 2, "orderBy": "create_time"}).json()
    assert [j["name"] for j in page["customJobs"]] == names[:2]
    rest = api.get(
        url, params={"pageSize": 2, "orderBy": "create_time", "pageToken": page["nextPageToken"]}
    ).json()
    assert [j["name"] for j in rest["customJobs"]] == names[2:4]
    assert (
        api.get(url, params={"filter": "bogus=="}).json()["error"]["status"] == "INVALID_ARGUMENT"
    )


def test_delete_returns_an_operation_and_refuses_unfinished_jobs(api: TestClient) -> None:
    parent = "projects/deleting/locations/us-central1"
    name = api.post(f"/v1/{parent}/customJobs", json=job_with()).json()["name"]
    # It fails (its package does not exist) or waits; cancel it so it is finished either way.
    api.post(f"/v1/{name}:cancel")
    for _ in range(200):
        if api.get(f"/v1/{name}").json()["state"] in ("JOB_STATE_CANCELLED", "JOB_STATE_FAILED"):
            break
    operation = api.delete(f"/v1/{name}").json()
    assert operation["done"] is True and operation["name"].startswith(f"{name}/operations/")
    assert api.get(f"/v1/{operation['name']}").json() == operation
    assert api.get(f"/ui/{operation['name']}").json() == operation
    assert api.get(f"/v1/{name}").status_code == 404


def test_openapi_document_is_served(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    assert "/v1/projects/{project}/locations/{location}/customJobs" in document["paths"]
