"""Training code reaches the local buckets through Cloud Storage clients: replicas get
STORAGE_EMULATOR_HOST pointing at vertexd, and the objects are the buckets folder's files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from conftest import Server, python_job, write_wheel
from probe_package import probe_wheel

pytestmark = pytest.mark.slow

BUCKET = "job-bucket"

TRAINER = """
import os
from google.cloud import storage

model_dir = os.environ["AIP_MODEL_DIR"]  # gs://job-bucket/run/model/
bucket_name, _, prefix = model_dir[len("gs://"):].partition("/")
client = storage.Client()
bucket = client.bucket(bucket_name)
data = bucket.blob("inputs/data.csv").download_as_text()
bucket.blob(prefix + "model.txt").upload_from_string("trained on " + data.strip())
print("saved to", model_dir + "model.txt", "through", os.environ["STORAGE_EMULATOR_HOST"])
"""

FSSPEC_TRAINER = """
import os
import fsspec

with fsspec.open(os.environ["AIP_MODEL_DIR"] + "weights.txt", "w") as out:
    out.write("written through fsspec")
"""


def test_a_job_writes_its_model_with_google_cloud_storage(server: Server) -> None:
    buckets = server.home / "buckets"
    (buckets / BUCKET / "inputs").mkdir(parents=True)
    (buckets / BUCKET / "inputs" / "data.csv").write_text("x,y\n")
    write_wheel(buckets / BUCKET / "pkg", "gcstrainer", {"gcstrainer/task.py": TRAINER})
    job = python_job(
        "gcstrainer.task",
        f"gs://{BUCKET}/pkg/gcstrainer-0.1-py3-none-any.whl",
        baseOutputDirectory={"outputUriPrefix": f"gs://{BUCKET}/run"},
    )
    created = server.create(job)
    assert created.status_code == 200, created.text
    name = created.json()["name"]
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=300)
    assert done["state"] == "JOB_STATE_SUCCEEDED", server.logs(name)
    assert (buckets / BUCKET / "run" / "model" / "model.txt").read_text() == "trained on x,y"
    texts = [entry["text"] for entry in server.logs(name)]
    saved = f"saved to gs://{BUCKET}/run/model/model.txt through {server.url}/_job/"
    assert any(text.startswith(saved) for text in texts)  # under the job's own credential


def test_a_job_writes_its_model_through_fsspec(server: Server) -> None:
    buckets = server.home / "buckets"
    write_wheel(buckets / BUCKET / "pkg", "fstrainer", {"fstrainer/task.py": FSSPEC_TRAINER})
    job = python_job(
        "fstrainer.task",
        f"gs://{BUCKET}/pkg/fstrainer-0.1-py3-none-any.whl",
        baseOutputDirectory={"outputUriPrefix": f"gs://{BUCKET}/fs-run"},
    )
    name = server.create(job).json()["name"]
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=300)
    assert done["state"] == "JOB_STATE_SUCCEEDED", server.logs(name)
    weights = buckets / BUCKET / "fs-run" / "model" / "weights.txt"
    assert weights.read_text() == "written through fsspec"


GCS_PATH_TRAINER = """
import os

model_dir = "/gcs/" + os.environ["AIP_MODEL_DIR"][len("gs://"):]
os.makedirs(model_dir, exist_ok=True)
with open(model_dir + "model.bin", "wb") as out:
    out.write(b"through /gcs")
print("listed", sorted(os.listdir("/gcs")))
"""


def test_a_local_job_writes_its_model_to_gcs_paths(server: Server) -> None:
    buckets = server.home / "buckets"
    write_wheel(buckets / BUCKET / "pkg", "gcspath", {"gcspath/task.py": GCS_PATH_TRAINER})
    job = python_job(
        "gcspath.task",
        f"gs://{BUCKET}/pkg/gcspath-0.1-py3-none-any.whl",
        baseOutputDirectory={"outputUriPrefix": f"gs://{BUCKET}/gcs-run"},
    )
    name = server.create(job).json()["name"]
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=300)
    texts = [entry["text"] for entry in server.logs(name)]
    reasons = [text for text in texts if text.startswith("/gcs is not available")]
    if reasons and os.geteuid() != 0:
        pytest.skip(reasons[0])  # said once, in the job log, where /gcs cannot be had
    assert done["state"] == "JOB_STATE_SUCCEEDED", texts
    assert (buckets / BUCKET / "gcs-run" / "model" / "model.bin").read_bytes() == b"through /gcs"
    assert any(text.startswith("listed [") and BUCKET in text for text in texts)
    assert not any(Path("/gcs").iterdir()), "the bind mount stays in the replica's namespace"


def test_replicas_keep_their_own_storage_setting_with_real_cloud_storage(
    tmp_path: Path,
) -> None:
    """VERTEXD_GCS=gcs: vertexd serves no storage API and sets no STORAGE_EMULATOR_HOST."""
    real = Server(tmp_path / "home", "--cpus", "64", env={"VERTEXD_GCS": "gcs"})
    wheel = probe_wheel(tmp_path / "packages")
    env_file = tmp_path / "env.json"
    real.start()
    try:
        job = python_job("probe.task", f"file://{wheel}", ["--env-file", str(env_file)])
        name = real.create(job).json()["name"]
        done = real.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=300)
        assert done["state"] == "JOB_STATE_SUCCEEDED", real.logs(name)
    finally:
        real.stop()
    seen = json.loads(env_file.read_text())["env"]
    assert seen.get("STORAGE_EMULATOR_HOST") == os.environ.get("STORAGE_EMULATOR_HOST")
    assert "VERTEXD_BUCKETS_DIR" not in seen


def test_with_a_token_a_job_uses_its_own_credential_that_ends_with_it(tmp_path: Path) -> None:
    """The server wants a token; the job is not handed it, but reaches the storage API under
    its own secret (`/_job/SECRET`), which is refused once the job has ended."""
    token = tmp_path / "token"
    token.write_text("t" * 40)
    server = Server(tmp_path / "home", "--cpus", "64", "--auth-token-file", str(token))
    server.client.headers["Authorization"] = f"Bearer {'t' * 40}"
    buckets = server.home / "buckets"
    (buckets / BUCKET / "inputs").mkdir(parents=True)
    (buckets / BUCKET / "inputs" / "data.csv").write_text("a,b\n")
    write_wheel(buckets / BUCKET / "pkg", "gcstrainer", {"gcstrainer/task.py": TRAINER})
    job = python_job(
        "gcstrainer.task",
        f"gs://{BUCKET}/pkg/gcstrainer-0.1-py3-none-any.whl",
        baseOutputDirectory={"outputUriPrefix": f"gs://{BUCKET}/run"},
    )
    server.start()
    try:
        name = server.create(job).json()["name"]
        done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=300)
        assert done["state"] == "JOB_STATE_SUCCEEDED", server.logs(name)
        assert (buckets / BUCKET / "run" / "model" / "model.txt").read_text() == "trained on a,b"
        said = next(e["text"] for e in server.logs(name) if e["text"].startswith("saved to"))
        endpoint = said.rsplit(" ", 1)[1]
        assert endpoint.startswith(f"{server.url}/_job/") and "t" * 40 not in said
        anonymous = httpx.get(f"{endpoint}/storage/v1/b/{BUCKET}/o")
        assert anonymous.status_code == 401  # the job ended: its secret with it
        assert httpx.get(f"{server.url}/storage/v1/b/{BUCKET}/o").status_code == 401
    finally:
        server.stop()
