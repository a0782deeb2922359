"""`vertexd hp-tuning-jobs` as a user runs it: a subprocess against a real `vertexd serve`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from conftest import SKLEARN, Server
from test_cli import vertexd
from tuning_package import tuning_wheel

pytestmark = pytest.mark.slow

PACKAGE = "gs://test-bucket/tuning-cli/tunetrial-0.1-py3-none-any.whl"
PROJECT = "cli-project"


def config(args: list[str]) -> dict:
    return {
        "studySpec": {
            "metrics": [{"metricId": "score", "goal": "MAXIMIZE"}],
            "parameters": [
                {"parameterId": "n", "integerValueSpec": {"minValue": 1, "maxValue": 9}},
            ],
            "algorithm": "GRID_SEARCH",
        },
        "trialJobSpec": {
            "workerPoolSpecs": {
                "machineSpec": {"machineType": "n1-standard-4"},
                "replicaCount": 1,
                "pythonPackageSpec": {
                    "executorImageUri": SKLEARN,
                    "packageUris": [PACKAGE],
                    "pythonModule": "tunetrial.task",
                    "args": args,
                },
            }
        },
    }


def at(server: Server, *args: str) -> list[str]:
    return [*args, "--endpoint", server.url, "--project", PROJECT, "--region", "europe-west4"]


def create(server: Server, tmp_path: Path, args: list[str], *flags: str) -> str:
    path = tmp_path / "hp.yaml"
    path.write_text(yaml.safe_dump(config(args)))
    done = vertexd(
        *at(server, "hp-tuning-jobs", "create", "--config", str(path), "--display-name", "cli-hp"),
        *flags,
    )
    assert done.returncode == 0, done.stderr
    assert "Hyperparameter tuning job [" in done.stderr, done.stderr
    job_id = done.stderr.split("[", 1)[1].split("]", 1)[0]
    assert "vertexd hp-tuning-jobs describe " + job_id in done.stderr
    return job_id


def wait(server: Server, job_id: str, *states: str) -> dict:
    name = f"projects/{PROJECT}/locations/europe-west4/hyperparameterTuningJobs/{job_id}"
    return server.wait_for(name, *states, timeout=180)


def test_create_describe_list_and_stream_logs(server: Server, tmp_path: Path) -> None:
    tuning_wheel(server.home / "buckets" / "test-bucket" / "tuning-cli")
    job_id = create(
        server,
        tmp_path,
        ["--objective=-(n-6)**2"],
        "--max-trial-count=4",
        "--parallel-trial-count=2",
        "--algorithm=random-search",
        "--labels=team=tuning",
    )
    job = wait(server, job_id, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
    assert job["state"] == "JOB_STATE_SUCCEEDED", job
    assert job["maxTrialCount"] == 4 and job["parallelTrialCount"] == 2
    assert job["studySpec"]["algorithm"] == "RANDOM_SEARCH" and job["labels"] == {"team": "tuning"}
    assert len(job["trials"]) == 4

    described = vertexd(*at(server, "hp-tuning-jobs", "describe", job_id))
    assert described.returncode == 0, described.stderr
    head, table = described.stdout.split("Trials (4, best first):")
    assert yaml.safe_load(head)["displayName"] == "cli-hp"
    rows = [line.split() for line in table.strip().splitlines()[2:]]
    scores = [float(row[2]) for row in rows]
    assert scores == sorted(scores, reverse=True) and all(row[1] == "SUCCEEDED" for row in rows)
    assert table.split()[:4] == ["TRIAL_ID", "STATE", "score", "n"]

    listed = vertexd(*at(server, "hp-tuning-jobs", "list"))
    assert job_id in listed.stdout and "JOB_STATE_SUCCEEDED" in listed.stdout

    logs = vertexd(*at(server, "hp-tuning-jobs", "stream-logs", job_id, "--polling-interval=0.1"))
    assert logs.returncode == 0, logs.stderr
    assert "trial-1/workerpool0-0\ttrial 1: score=" in logs.stdout
    assert "service\tTrial 4 ended SUCCEEDED" in logs.stdout
    one = vertexd(*at(server, "hp-tuning-jobs", "stream-logs", job_id, "--trial-id=2"))
    assert "\tworkerpool0-0\ttrial 2: score=" in one.stdout and "trial 1:" not in one.stdout

    again = vertexd(*at(server, "hp-tuning-jobs", "cancel", job_id))
    assert again.returncode == 1 and "FAILED_PRECONDITION" in again.stderr


def test_cancel_from_the_cli(server: Server, tmp_path: Path) -> None:
    tuning_wheel(server.home / "buckets" / "test-bucket" / "tuning-cli")
    job_id = create(server, tmp_path, ["--objective=n", "--steps=300", "--sleep=0.1"])
    job = wait(server, job_id, "JOB_STATE_RUNNING")
    assert job["maxTrialCount"] == 1 and job["studySpec"]["algorithm"] == "GRID_SEARCH"
    time.sleep(0.5)
    cancelled = vertexd(*at(server, "hp-tuning-jobs", "cancel", job_id))
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"Request to cancel hyperparameter tuning job [{job_id}] has been sent" in (
        cancelled.stderr
    )
    assert wait(server, job_id, "JOB_STATE_CANCELLED")["error"]["message"] == "CANCELED"


def test_config_errors(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"studySpec": {"metric": []}}))
    flags = ["--config", str(path), "--display-name", "x"]
    done = vertexd(*at(server, "hp-tuning-jobs", "create", *flags))
    assert done.returncode == 1
    assert "Unrecognized fields in the YAML config file: [studySpec.metric]" in done.stderr
    path.write_text(yaml.safe_dump({"studySpec": {"metrics": [{"metricId": "a"}]}}))
    done = vertexd(*at(server, "hp-tuning-jobs", "create", *flags))
    assert done.returncode == 1
    assert "INVALID_ARGUMENT: study_spec.parameters: At least one parameter" in done.stderr
    done = vertexd(*at(server, "hp-tuning-jobs", "create", *flags, "--algorithm=best"))
    assert done.returncode == 2 and "--algorithm" in done.stderr
