"""The console's helper routes (no browser): the page and its assets, the executor catalogue
for the framework drop-downs, machine types, files under an output URI, projects in use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import SKLEARN
from vertexd.api.app import create_app
from vertexd.console import files as console_files
from vertexd.settings import Settings
from vertexd.storage import Storage
from vertexd.store.db import make_engine
from vertexd.store.jobs import JobStore


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(home=tmp_path)), base_url="http://127.0.0.1") as running:
        yield running


def test_page_and_assets_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/console/static/js/main.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from elsewhere
    script = client.get("/console/static/js/main.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "no-cache"
    assert client.get("/console/static/css/console.css").status_code == 200
    assert client.get("/favicon.ico").headers["content-type"] == "image/svg+xml"
    static = Path(__file__).resolve().parent.parent / "src/vertexd/console/static"
    for asset in static.rglob("*.*"):
        text = asset.read_text()
        assert "//cdn" not in text and "googleapis.com" not in text, asset


def test_executor_catalogue_by_framework(client: TestClient) -> None:
    frameworks = client.get("/console/api/executors").json()["frameworks"]
    labels = [f["label"] for f in frameworks]
    assert labels[:4] == ["scikit-learn", "XGBoost", "TensorFlow", "PyTorch"]
    sklearn = frameworks[0]["versions"]
    assert {"version": "1.0", "accelerator": "CPU", "imageUri": SKLEARN} in sklearn
    assert sklearn[0]["version"] == "1.6" and sklearn[0]["accelerator"] == "CPU"
    pytorch = next(f for f in frameworks if f["id"] == "pytorch")["versions"]
    assert any(v["imageUri"].endswith("/pytorch-xla.2-4.py310:latest") for v in pytorch)
    every = [v["imageUri"] for f in frameworks for v in f["versions"]]
    assert not any("scikit-learn-cpu.0-23" in uri for uri in every)  # cannot run here


def test_machine_types(client: TestClient) -> None:
    answer = client.get("/console/api/machine-types").json()
    assert answer["default"] == "n1-standard-4"
    shapes = {m["name"]: m for m in answer["machineTypes"]}
    assert shapes["n1-standard-4"] == {
        "name": "n1-standard-4",
        "cpus": 4,
        "memoryGb": 15.0,
        "gpus": 0,
    }
    assert shapes["a2-highgpu-1g"]["gpus"] == 1


def test_files_under_an_output_uri(client: TestClient, tmp_path: Path) -> None:
    folder = tmp_path / "buckets" / "out-bucket" / "run" / "model"
    folder.mkdir(parents=True)
    (folder / "model.joblib").write_bytes(b"x" * 10)
    (folder / "sub").mkdir()
    (folder / "sub" / "b.txt").write_text("b")
    answer = client.get("/console/api/files", params={"uri": "gs://out-bucket/run"}).json()
    assert answer == {
        "uri": "gs://out-bucket/run/",
        "files": [
            {
                "uri": "gs://out-bucket/run/model/model.joblib",
                "path": "model/model.joblib",
                "size": 10,
            },
            {"uri": "gs://out-bucket/run/model/sub/b.txt", "path": "model/sub/b.txt", "size": 1},
        ],
        "truncated": False,
    }
    missing = client.get("/console/api/files", params={"uri": "gs://out-bucket/none/"}).json()
    assert missing["files"] == [] and missing["truncated"] is False
    storage = Storage(tmp_path / "buckets")
    bounded = console_files.list_output(storage, "gs://out-bucket/run", limit=1)
    assert len(bounded["files"]) == 1 and bounded["truncated"] is True
    refused = client.get("/console/api/files", params={"uri": "s3://elsewhere/x"})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("uri: The URI scheme s3://")


def test_parents_in_use_newest_first(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/console/api/parents").json() == {
        "parents": [],
        "default": "projects/vertexd/locations/us-central1",
    }
    store = JobStore(make_engine(Settings(home=tmp_path).db_url))
    for number, parent in enumerate(["projects/a/locations/l1", "projects/b/locations/l2"]):
        name = f"{parent}/customJobs/{number}"
        store.insert("customJobs", parent, {"name": name, "state": "JOB_STATE_SUCCEEDED"})
    store.close()
    assert client.get("/console/api/parents").json()["parents"] == [
        "projects/b/locations/l2",
        "projects/a/locations/l1",
    ]
