"""hyperparameterTuningJobs over REST: validation messages, enums, int64, list, cancel, delete."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import PARENT, SKLEARN
from vertexd.api.app import create_app
from vertexd.settings import Settings

COLLECTION = f"/v1/{PARENT}/hyperparameterTuningJobs"
POOL = {
    "machineSpec": {"machineType": "n1-standard-4"},
    "replicaCount": "1",
    "pythonPackageSpec": {
        "executorImageUri": SKLEARN,
        "packageUris": ["gs://no-such-bucket/never-run.tar.gz"],
        "pythonModule": "trainer.task",
    },
}
JOB: dict[str, Any] = {
    "displayName": "wire",
    "maxTrialCount": 2,
    "parallelTrialCount": 1,
    "studySpec": {
        "metrics": [{"metricId": "accuracy", "goal": "MAXIMIZE"}],
        "parameters": [
            {
                "parameterId": "lr",
                "doubleValueSpec": {"minValue": 0.001, "maxValue": 0.1},
                "scaleType": "UNIT_LOG_SCALE",
            },
            {"parameterId": "layers", "integerValueSpec": {"minValue": "1", "maxValue": "4"}},
        ],
    },
    "trialJobSpec": {"workerPoolSpecs": [POOL]},
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # Trials of this module never run: their package does not exist, so they fail at once.
    settings = Settings(home=tmp_path_factory.mktemp("home"), cpus=0)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def job_with(**changes: Any) -> dict[str, Any]:
    job = copy.deepcopy(JOB)
    for dotted, value in changes.items():
        target = job
        *path, last = dotted.split("__")
        for part in path:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return job


def error_of(api: TestClient, job: dict[str, Any]) -> str:
    response = api.post(COLLECTION, json=job)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["code"] == 400
    return str(error["message"])


def param(pid: str, **value_spec: Any) -> dict[str, Any]:
    return {"parameterId": pid, **value_spec}


CONDITIONAL = {
    "parameterId": "opt",
    "categoricalValueSpec": {"values": ["sgd", "adam"]},
    "conditionalParameterSpecs": [
        {
            "parentCategoricalValues": {"values": ["sgd", "adam"]},
            "parameterSpec": param("m", doubleValueSpec={"minValue": 0, "maxValue": 1}),
        },
        {
            "parentCategoricalValues": {"values": ["adam"]},
            "parameterSpec": param("m", doubleValueSpec={"minValue": 0, "maxValue": 2}),
        },
    ],
}

INVALID = [
    (job_with(displayName=None), "display_name: is required."),
    (job_with(maxTrialCount=None), "max_trial_count: is required and must be a positive number."),
    (job_with(parallelTrialCount=0), "parallel_trial_count: is required"),
    (job_with(maxTrialCount=-2), "max_trial_count: must be a positive number, got -2."),
    (job_with(maxFailedTrialCount=-1), "max_failed_trial_count: must not be negative"),
    (job_with(studySpec=None), "study_spec: is required."),
    (job_with(studySpec__metrics=[]), "study_spec.metrics: At least one metric"),
    (
        job_with(studySpec__metrics=[{"metricId": "a"}, {"metricId": "a"}]),
        'study_spec.metrics[1].metric_id: Duplicate metric_id "a"',
    ),
    (job_with(studySpec__parameters=[]), "study_spec.parameters: At least one parameter"),
    (
        job_with(studySpec__parameters__1__parameterId="lr"),
        'study_spec.parameters[1].parameter_id: Duplicate parameter_id "lr"',
    ),
    (
        job_with(studySpec__parameters__0__doubleValueSpec={"minValue": 0, "maxValue": 1}),
        "study_spec.parameters[0].double_value_spec.min_value: UNIT_LOG_SCALE requires a "
        "strictly positive feasible space, but min_value is 0.",
    ),
    (
        job_with(studySpec__parameters__1__integerValueSpec={"minValue": "5", "maxValue": "2"}),
        "study_spec.parameters[1].integer_value_spec.min_value: min_value (5) must not be "
        "greater than max_value (2).",
    ),
    (
        job_with(studySpec__parameters=[param("d", discreteValueSpec={"values": [1, 4, 2]})]),
        "study_spec.parameters[0].discrete_value_spec.values: Values must be in increasing order",
    ),
    (
        job_with(studySpec__parameters=[param("c", categoricalValueSpec={"values": ["a", "a"]})]),
        "study_spec.parameters[0].categorical_value_spec.values: Values must be unique.",
    ),
    (
        job_with(studySpec__parameters=[{"parameterId": "x"}]),
        "study_spec.parameters[0]: Exactly one of double_value_spec, integer_value_spec",
    ),
    (
        job_with(studySpec__algorithm="GRID_SEARCH"),
        "study_spec.parameters[0]: GRID_SEARCH only supports INTEGER, CATEGORICAL and DISCRETE "
        'parameters, but "lr" is DOUBLE.',
    ),
    (
        job_with(studySpec__parameters=[CONDITIONAL]),
        "study_spec.parameters[0].conditional_parameter_specs[1].parent_categorical_values: "
        'Conditional parameter specs for "m" have overlapping parent value conditions: '
        '"adam" appears in more than one.',
    ),
    (
        job_with(
            studySpec__parameters=[
                {
                    "parameterId": "n",
                    "integerValueSpec": {"minValue": 1, "maxValue": 3},
                    "conditionalParameterSpecs": [
                        {
                            "parentCategoricalValues": {"values": ["x"]},
                            "parameterSpec": param("k", integerValueSpec={"maxValue": 2}),
                        }
                    ],
                }
            ]
        ),
        "study_spec.parameters[0].conditional_parameter_specs[0].parent_categorical_values: "
        'parent_categorical_values does not match the parent parameter "n", which is INTEGER',
    ),
    (
        job_with(studySpec__medianAutomatedStoppingSpec={}, studySpec__decayCurveStoppingSpec={}),
        "study_spec: At most one automated stopping spec may be set",
    ),
    (
        job_with(trialJobSpec={"workerPoolSpecs": []}),
        "List of found errors:\t1.Field: trial_job_spec.worker_pool_specs; Message: At least one "
        "worker pool must be specified.",
    ),
    (
        job_with(trialJobSpec__workerPoolSpecs__0__pythonPackageSpec__executorImageUri="nope"),
        "trial_job_spec.worker_pool_specs[0].python_package_spec.executor_image_uri:",
    ),
]


@pytest.mark.parametrize(("job", "message"), INVALID)
def test_validation_messages_name_the_field(api: TestClient, job: dict, message: str) -> None:
    assert error_of(api, job).startswith(message)


def test_siblings_may_share_an_id_under_disjoint_conditions(api: TestClient) -> None:
    conditional = copy.deepcopy(CONDITIONAL)
    conditional["conditionalParameterSpecs"][0]["parentCategoricalValues"]["values"] = ["sgd"]
    response = api.post(COLLECTION, json=job_with(studySpec__parameters=[conditional]))
    assert response.status_code == 200, response.text
    _cancel_and_wait(api, response.json()["name"])


def test_integer_enums_and_int64_strings(api: TestClient) -> None:
    job = job_with(
        studySpec__metrics=[{"metricId": "accuracy", "goal": 1}],
        studySpec__algorithm=3,
        studySpec__measurementSelectionType=2,
        studySpec__parameters__0__scaleType=2,
        studySpec__parameters__1__integerValueSpec={"minValue": 1.0, "maxValue": "4"},
    )
    response = api.post(COLLECTION, params={"$alt": "json;enum-encoding=int"}, json=job)
    assert response.status_code == 200, response.text
    body = response.json()
    study = body["studySpec"]
    assert study["metrics"][0]["goal"] == 1 and study["algorithm"] == 3
    assert study["measurementSelectionType"] == 2 and study["parameters"][0]["scaleType"] == 2
    assert study["parameters"][1]["integerValueSpec"] == {"minValue": "1", "maxValue": "4"}
    assert body["maxTrialCount"] == 2 and body["state"] in (1, 2)  # QUEUED, or PENDING already
    assert body["trialJobSpec"]["workerPoolSpecs"][0]["replicaCount"] == "1"
    named = api.get(f"/v1/{body['name']}").json()
    assert named["studySpec"]["algorithm"] == "RANDOM_SEARCH"
    assert named["studySpec"]["metrics"][0]["goal"] == "MAXIMIZE"
    _cancel_and_wait(api, body["name"])


def test_failed_trials_end_the_job_and_int_enums_cover_trials(api: TestClient) -> None:
    name = api.post(COLLECTION, json=job_with(maxTrialCount=3)).json()["name"]
    done = _wait(api, name)
    assert done["state"] == "JOB_STATE_FAILED", done
    assert [t["state"] for t in done["trials"]] == ["INFEASIBLE"] * 3
    assert (
        "trials failed (max_failed_trial_count 0: vertexd allows 3 of 3" in done["error"]["message"]
    )
    as_ints = api.get(f"/v1/{name}", params={"$alt": "json;enum-encoding=int"}).json()
    assert as_ints["state"] == 5 and {t["state"] for t in as_ints["trials"]} == {5}
    reason = done["trials"][0]["infeasibleReason"]
    assert reason.startswith("The trial's CustomJob") and "failed" in reason
    custom_job = api.get(f"/v1/{done['trials'][0]['customJob']}").json()
    assert custom_job["state"] == "JOB_STATE_FAILED"
    args = custom_job["jobSpec"]["workerPoolSpecs"][0]["pythonPackageSpec"]["args"]
    assert args[0].startswith("--lr=") and args[1].startswith("--layers=")


def test_list_filter_cancel_delete(api: TestClient) -> None:
    name = api.post(COLLECTION, json=job_with(displayName="listed", labels={"k": "v"})).json()[
        "name"
    ]
    listed = api.get(COLLECTION, params={"filter": 'display_name="listed" AND labels.k=v'}).json()
    assert [j["name"] for j in listed["hyperparameterTuningJobs"]] == [name]
    assert listed.get("nextPageToken") is None
    early = api.delete(f"/v1/{name}")
    if early.status_code == 400:
        assert early.json()["error"]["status"] == "FAILED_PRECONDITION"
    _cancel_and_wait(api, name)
    again = api.post(f"/v1/{name}:cancel")
    assert again.status_code == 400 and again.json()["error"]["status"] == "FAILED_PRECONDITION"
    trials = api.get(f"/v1/{name}").json().get("trials", [])
    trial_jobs = [t["customJob"] for t in trials if "customJob" in t]  # none if cancelled early
    operation = api.delete(f"/v1/{name}").json()
    assert operation["done"] is True
    assert api.get(f"/v1/{name}").status_code == 404
    for job in trial_jobs:
        assert api.get(f"/v1/{job}").status_code == 404
    missing = api.get(f"{COLLECTION}/123")
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"


def _cancel_and_wait(api: TestClient, name: str) -> dict[str, Any]:
    api.post(f"/v1/{name}:cancel")
    return _wait(api, name)


def _wait(api: TestClient, name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = dict(api.get(f"/v1/{name}").json())
        if job["state"] in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"{name} did not end")
