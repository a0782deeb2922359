"""Models over REST: upload (an Operation), versions and aliases, listVersions paging,
ALREADY_EXISTS, deleting a version, the empty fields samples read, and a restart."""

from __future__ import annotations

import httpx
import pytest

from conftest import Server

pytestmark = pytest.mark.both_databases

PARENT = "projects/models/locations/us-central1"
SERVING = "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-0:latest"
UPLOAD_RESPONSE = "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse"


def upload(server: Server, **request: object) -> httpx.Response:
    return server.client.post(f"/v1/{PARENT}/models:upload", json=request)


def uploaded(server: Server, display_name: str, **request: object) -> dict:
    """Upload, check the Operation, and answer its UploadModelResponse."""
    model = {
        "displayName": display_name,
        "artifactUri": f"gs://test-bucket/{display_name}",
        "containerSpec": {"imageUri": SERVING},
        **dict(request.pop("model", {})),  # type: ignore[call-overload]
    }
    response = upload(server, model=model, **request)
    assert response.status_code == 200, response.text
    operation = response.json()
    assert operation["done"] is True and operation["name"].startswith(PARENT + "/models/")
    assert operation["response"]["@type"] == UPLOAD_RESPONSE
    return dict(operation["response"])


def model_url(name: str) -> str:
    return f"/v1/{PARENT}/models/{name}"


def test_upload_answers_an_operation_naming_the_model_and_version_1(server: Server) -> None:
    answer = uploaded(server, "first", modelId="first-model")
    assert answer == {
        "@type": UPLOAD_RESPONSE,
        "model": f"{PARENT}/models/first-model",
        "modelVersionId": "1",
    }
    model = server.get(answer["model"])
    assert model["name"] == answer["model"] and model["versionId"] == "1"
    assert model["versionAliases"] == ["default"]
    assert model["versionCreateTime"] == model["createTime"] and model["versionUpdateTime"]
    assert model["containerSpec"] == {"imageUri": SERVING}
    assert model["artifactUri"] == "gs://test-bucket/first"
    # What Google's samples read without checking for null: there, and empty.
    assert model["predictSchemata"] == {} and model["labels"] == {}
    assert model["supportedExportFormats"] == [] and model["deployedModels"] == []
    assert model["description"] == "" and model["trainingPipeline"] == ""
    assert server.get(answer["model"] + "@1") == model
    assert server.get(answer["model"] + "@default") == model
    listed = server.client.get(f"/v1/{PARENT}/models", params={"$alt": "json;enum-encoding=int"})
    assert model in listed.json()["models"]


def test_a_generated_id_when_none_is_given(server: Server) -> None:
    answer = uploaded(server, "no-id")
    assert answer["model"].rsplit("/", 1)[1].isdigit()


def test_a_taken_model_id_is_already_exists(server: Server) -> None:
    uploaded(server, "taken", modelId="taken")
    again = upload(server, model={"displayName": "again"}, modelId="taken")
    assert again.status_code == 409
    assert again.json() == {
        "error": {
            "code": 409,
            "message": f"Model {PARENT}/models/taken already exists.",
            "status": "ALREADY_EXISTS",
        }
    }
    assert server.get(f"{PARENT}/models/taken")["displayName"] == "taken"  # unchanged


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({"model": {"displayName": "x"}, "modelId": "Bad Id"}, "model_id"),
        ({"model": {"displayName": "x"}, "modelId": "1abc"}, "model_id"),
        ({"model": {}}, "model.display_name"),
        ({}, "model"),
        ({"model": {"displayName": "x", "versionAliases": ["7"]}}, "model.version_aliases"),
        ({"model": {"displayName": "x"}, "parentModel": "models/x"}, "parent_model"),
    ],
)
def test_bad_uploads_name_the_field(server: Server, request_body: dict, field: str) -> None:
    response = server.client.post(f"/v1/{PARENT}/models:upload", json=request_body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["message"].startswith(field + ":")


def test_a_missing_parent_model_is_not_found(server: Server) -> None:
    response = upload(server, model={"displayName": "x"}, parentModel=f"{PARENT}/models/nope")
    assert response.status_code == 404 and response.json()["error"]["status"] == "NOT_FOUND"


def test_versions_aliases_and_the_default_one(server: Server) -> None:
    name = uploaded(server, "v1", modelId="versioned")["model"]
    second = uploaded(
        server, "v2", parentModel=name, model={"versionAliases": ["default", "candidate"]}
    )
    assert second == {"@type": UPLOAD_RESPONSE, "model": name, "modelVersionId": "2"}
    third = uploaded(server, "v3", parentModel=name, model={"versionAliases": ["canary"]})
    assert third["modelVersionId"] == "3"

    assert server.get(name)["versionId"] == "2"  # the default version
    assert server.get(name + "@default")["versionId"] == "2"
    assert server.get(name + "@candidate")["artifactUri"] == "gs://test-bucket/v2"
    assert server.get(name + "@canary")["versionId"] == "3"
    first = server.get(name + "@1")
    assert first["versionAliases"] == [] and first["displayName"] == "v1"
    assert server.get(name + "@3")["createTime"] == first["createTime"]  # the model's
    missing = server.client.get(model_url("versioned@9"))
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
    assert server.client.get(model_url("versioned@nobody")).status_code == 404
    listed = server.client.get(f"/v1/{PARENT}/models").json()["models"]
    assert [m["versionId"] for m in listed if m["name"] == name] == ["2"]


def test_list_versions_pages(server: Server) -> None:
    name = uploaded(server, "p1", modelId="paged")["model"]
    for n in (2, 3):
        uploaded(server, f"p{n}", parentModel=name)
    seen, token = [], ""
    for _ in range(4):
        params = {"pageSize": "2", **({"pageToken": token} if token else {})}
        answer = server.client.get(model_url("paged:listVersions"), params=params).json()
        seen += [(m["versionId"], m["displayName"]) for m in answer["models"]]
        token = answer.get("nextPageToken", "")
        if not token:
            break
    assert seen == [("1", "p1"), ("2", "p2"), ("3", "p3")]
    all_versions = server.client.get(model_url("paged:listVersions")).json()
    assert "nextPageToken" not in all_versions and len(all_versions["models"]) == 3
    assert all(m["name"] == name and m["predictSchemata"] == {} for m in all_versions["models"])
    absent = server.client.get(model_url("absent:listVersions"))
    assert absent.status_code == 404


def test_merge_aliases_and_delete_versions(server: Server) -> None:
    name = uploaded(server, "d1", modelId="deletable")["model"]
    uploaded(server, "d2", parentModel=name)
    uploaded(server, "d3", parentModel=name)
    merged = server.client.post(
        model_url("deletable@3:mergeVersionAliases"),
        json={"versionAliases": ["default", "prod"]},
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["versionAliases"] == ["default", "prod"]
    assert server.get(name)["versionId"] == "3"
    removal = server.client.post(
        model_url("deletable@3:mergeVersionAliases"), json={"versionAliases": ["-default"]}
    )
    assert removal.status_code == 400

    refused = server.client.delete(model_url("deletable@3"))
    assert refused.status_code == 400 and refused.json()["error"]["status"] == "FAILED_PRECONDITION"
    operation = server.client.delete(model_url("deletable@1:deleteVersion")).json()
    assert operation["done"] is True
    assert server.client.delete(model_url("deletable@2")).json()["done"] is True
    assert server.client.get(model_url("deletable@2")).status_code == 404
    versions = server.client.get(model_url("deletable:listVersions")).json()["models"]
    assert [m["versionId"] for m in versions] == ["3"]
    # Ids are never given twice.
    assert uploaded(server, "d4", parentModel=name)["modelVersionId"] == "4"
    last = server.client.delete(model_url("deletable@4")).json()
    assert last["done"] is True
    only = server.client.delete(model_url("deletable@3"))
    assert only.status_code == 400  # the only version: delete the Model instead
    assert server.client.delete(model_url("deletable")).json()["done"] is True
    assert server.client.get(model_url("deletable")).status_code == 404
    assert server.client.get(model_url("deletable:listVersions")).status_code == 404


def test_pipeline_with_a_taken_model_id_or_missing_parent_is_refused(server: Server) -> None:
    uploaded(server, "owner", modelId="owned")
    base = {
        "displayName": "pipe",
        "trainingTaskDefinition": "gs://google-cloud-aiplatform/schema/trainingjob/definition/"
        "custom_task_1.0.0.yaml",
        "trainingTaskInputs": {
            "workerPoolSpecs": [
                {
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "1",
                    "containerSpec": {"imageUri": "local/none:1"},
                }
            ]
        },
        "modelToUpload": {"displayName": "pipe-model"},
    }
    url = f"/v1/{PARENT}/trainingPipelines"
    taken = server.client.post(url, json={**base, "modelId": "owned"})
    assert taken.status_code == 409 and taken.json()["error"]["status"] == "ALREADY_EXISTS"
    missing = server.client.post(url, json={**base, "parentModel": f"{PARENT}/models/gone"})
    assert missing.status_code == 404
    assert server.client.get(url).json().get("trainingPipelines", []) == []


def test_a_restart_keeps_models_and_versions(server: Server) -> None:
    name = uploaded(server, "r1", modelId="kept", model={"labels": {"team": "a"}})["model"]
    uploaded(server, "r2", parentModel=name, model={"versionAliases": ["default", "new"]})
    before = server.client.get(model_url("kept:listVersions")).json()
    server.restart()
    assert server.client.get(model_url("kept:listVersions")).json() == before
    assert server.get(name + "@new")["versionId"] == "2"
    assert uploaded(server, "r3", parentModel=name)["modelVersionId"] == "3"
    found = server.client.get(f"/v1/{PARENT}/models", params={"filter": "labels.team=a"})
    assert [m["name"] for m in found.json()["models"]] == []  # version 2 has no labels
    found = server.client.get(f"/v1/{PARENT}/models", params={"filter": 'display_name="r2"'})
    assert [m["name"] for m in found.json()["models"]] == [name]
