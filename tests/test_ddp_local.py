"""Real distributed training: PyTorch DDP (gloo, CPU), chief + 2 workers, local processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Server, python_job
from ddp_package import ddp_wheel

pytestmark = pytest.mark.slow

PYTORCH = "us-docker.pkg.dev/vertex-ai/training/pytorch-cpu.2-4.py310:latest"


def ddp_job(weights_dir: Path) -> dict:
    job = python_job(
        "ddp_trainer.task",
        "gs://test-bucket/packages/ddp_trainer-0.1-py3-none-any.whl",
        ["--weights-dir", str(weights_dir)],
        baseOutputDirectory={"outputUriPrefix": "gs://test-bucket/ddp"},
    )
    chief = job["jobSpec"]["workerPoolSpecs"][0]
    chief["pythonPackageSpec"]["executorImageUri"] = PYTORCH
    job["jobSpec"]["workerPoolSpecs"] = [chief, {**chief, "replicaCount": "2"}]
    return job


def test_ddp_ranks_end_with_identical_weights_and_the_chief_saves_the_model(
    server: Server, tmp_path: Path
) -> None:
    ddp_wheel(server.home / "buckets" / "test-bucket" / "packages")
    name = server.create(ddp_job(tmp_path)).json()["name"]
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=600)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    ranks = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in range(3)]
    assert [r["world"] for r in ranks] == [3, 3, 3]
    assert ranks[0]["weights"] == ranks[1]["weights"] == ranks[2]["weights"]
    assert ranks[0]["loss"] < 5.0  # it learned something: the target is the sum of 8 inputs
    model = server.home / "buckets" / "test-bucket" / "ddp" / "model" / "model.pt"
    assert model.stat().st_size > 0
    tasks = {e["taskName"] for e in server.logs(name) if e["text"].startswith("rank ")}
    assert tasks == {"workerpool0-0", "workerpool1-0", "workerpool1-1"}
