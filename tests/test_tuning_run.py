"""Real tuning jobs on real trials: local processes running a wheel that reports with the
real `cloudml-hypertune` package, through the REST API of a real `vertexd serve`."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import pytest

from conftest import PARENT, SKLEARN, Server
from tuning_package import tuning_wheel

pytestmark = pytest.mark.slow

TERMINAL = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED")
PACKAGE = "gs://test-bucket/tuning/tunetrial-0.1-py3-none-any.whl"


@pytest.fixture(scope="module")
def tuning(server: Server) -> Server:
    tuning_wheel(server.home / "buckets" / "test-bucket" / "tuning")
    return server


def tuning_job(
    parameters: list[dict[str, Any]],
    args: list[str],
    max_trials: int = 6,
    parallel: int = 2,
    goal: str = "MAXIMIZE",
    **study: Any,
) -> dict[str, Any]:
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "1",
        "pythonPackageSpec": {
            "executorImageUri": SKLEARN,
            "packageUris": [PACKAGE],
            "pythonModule": "tunetrial.task",
            "args": args,
        },
    }
    return {
        "displayName": "tuning-test",
        "maxTrialCount": max_trials,
        "parallelTrialCount": parallel,
        "studySpec": {
            "metrics": [{"metricId": "score", "goal": goal}],
            "parameters": parameters,
            **study,
        },
        "trialJobSpec": {
            "workerPoolSpecs": [pool],
            "baseOutputDirectory": {"outputUriPrefix": "gs://test-bucket/hp-out"},
        },
    }


def run(server: Server, job: dict[str, Any], timeout: float = 180) -> dict[str, Any]:
    response = server.client.post(f"/v1/{PARENT}/hyperparameterTuningJobs", json=job)
    assert response.status_code == 200, response.text
    return server.wait_for(response.json()["name"], *TERMINAL, timeout=timeout)


def values(trial: dict[str, Any]) -> dict[str, Any]:
    return {p["parameterId"]: p["value"] for p in trial["parameters"]}


def final(trial: dict[str, Any]) -> float:
    return float(trial["finalMeasurement"]["metrics"][0]["value"])


def test_default_algorithm_finds_the_optimum_region(tuning: Server, tmp_path: Path) -> None:
    parameters = [
        {"parameterId": "x", "doubleValueSpec": {"minValue": 0, "maxValue": 1}},
        {"parameterId": "n", "integerValueSpec": {"minValue": "1", "maxValue": "6"}},
    ]
    args = ["--objective=-(x-0.7)**2-0.1*(n-4)**2", "--steps=2", f"--record-dir={tmp_path}"]
    done = run(tuning, tuning_job(parameters, args, max_trials=24, parallel=2))
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    trials = done["trials"]
    assert [t["id"] for t in trials] == [str(i) for i in range(1, 25)]
    assert all(t["state"] == "SUCCEEDED" for t in trials)
    best = max(trials, key=final)
    assert abs(values(best)["x"] - 0.7) < 0.15 and values(best)["n"] == 4, best
    assert _max_overlap(trials) == 2  # parallelTrialCount, never more
    _check_trial_environment(tuning, done, tmp_path)


def _max_overlap(trials: list[dict[str, Any]]) -> int:
    """The most trials that ran at the same moment."""
    events = []
    for trial in trials:
        events += [(_time(trial["startTime"]), 1), (_time(trial["endTime"]), -1)]
    running = most = 0
    for _, change in sorted(events):
        running += change
        most = max(most, running)
    return most


def _time(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _check_trial_environment(server: Server, done: dict[str, Any], records: Path) -> None:
    trial = done["trials"][2]
    seen = json.loads((records / f"trial-{trial['id']}.json").read_text())
    env = seen["env"]
    assert env["CLOUD_ML_TRIAL_ID"] == trial["id"]
    assert json.loads(env["CLUSTER_SPEC"])["task"]["trial"] == trial["id"]
    assert json.loads(env["TF_CONFIG"])["task"]["trial"] == trial["id"]
    assert env["AIP_MODEL_DIR"] == f"gs://test-bucket/hp-out/{trial['id']}/model/"
    job_id = trial["customJob"].rsplit("/", 1)[1]
    metric_file = env["CLOUD_ML_HP_METRIC_FILE"]
    assert job_id in metric_file and metric_file.endswith("hypertune/output.metrics")
    assert Path(metric_file).exists() and not metric_file.startswith("/tmp/hypertune")
    assert seen["argv"][-2:] == [
        f"--x={values(trial)['x']!r}",
        f"--n={values(trial)['n']}",
    ]
    measurements = trial["measurements"]
    assert [m["stepCount"] for m in measurements] == ["1", "2"]
    assert trial["finalMeasurement"] == measurements[-1]
    assert measurements[0]["elapsedDuration"].endswith("s")
    custom_job = server.get(trial["customJob"])
    assert custom_job["state"] == "JOB_STATE_SUCCEEDED"


def test_every_parameter_kind_and_scale(tuning: Server, tmp_path: Path) -> None:
    parameters = [
        {
            "parameterId": "lr",
            "doubleValueSpec": {"minValue": 1e-4, "maxValue": 0.1},
            "scaleType": "UNIT_LOG_SCALE",
        },
        {
            "parameterId": "keep",
            "doubleValueSpec": {"minValue": 1, "maxValue": 100},
            "scaleType": "UNIT_REVERSE_LOG_SCALE",
        },
        {
            "parameterId": "units",
            "integerValueSpec": {"minValue": "8", "maxValue": "512"},
            "scaleType": "UNIT_LOG_SCALE",
        },
        {"parameterId": "depth", "integerValueSpec": {"minValue": "1", "maxValue": "3"}},
        {"parameterId": "batch", "discreteValueSpec": {"values": [16, 32, 64]}},
        {"parameterId": "act", "categoricalValueSpec": {"values": ["relu", "tanh"]}},
    ]
    args = ["--objective=depth + (1 if act == 'relu' else 0)", f"--record-dir={tmp_path}"]
    done = run(tuning, tuning_job(parameters, args, max_trials=6, parallel=3, algorithm=3))
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    for trial in done["trials"]:
        got = values(trial)
        assert 1e-4 <= got["lr"] <= 0.1 and 1 <= got["keep"] <= 100
        assert isinstance(got["units"], int) and 8 <= got["units"] <= 512
        assert got["depth"] in (1, 2, 3) and got["batch"] in (16, 32, 64)
        assert got["act"] in ("relu", "tanh")
        seen = json.loads((tmp_path / f"trial-{trial['id']}.json").read_text())
        assert seen["params"]["batch"] == got["batch"] and isinstance(seen["params"]["batch"], int)
        assert seen["params"]["act"] == got["act"] and seen["params"]["units"] == got["units"]
        assert final(trial) == got["depth"] + (1 if got["act"] == "relu" else 0)


def test_conditional_parameters_appear_only_under_their_parent_value(tuning: Server) -> None:
    parameters = [
        {
            "parameterId": "opt",
            "categoricalValueSpec": {"values": ["sgd", "adam"]},
            "conditionalParameterSpecs": [
                {
                    "parentCategoricalValues": {"values": ["sgd"]},
                    "parameterSpec": {
                        "parameterId": "momentum",
                        "doubleValueSpec": {"minValue": 0.5, "maxValue": 0.9},
                    },
                },
                {
                    "parentCategoricalValues": {"values": ["adam"]},
                    "parameterSpec": {
                        "parameterId": "beta",
                        "discreteValueSpec": {"values": [0.9, 0.99]},
                    },
                },
            ],
        }
    ]
    args = ["--objective=params.get('momentum', 0) + params.get('beta', 0)"]
    done = run(tuning, tuning_job(parameters, args, max_trials=8, parallel=2))
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    kinds = set()
    for trial in done["trials"]:
        got = values(trial)
        kinds.add(got["opt"])
        expected = {"opt", "momentum"} if got["opt"] == "sgd" else {"opt", "beta"}
        assert set(got) == expected, got
        assert final(trial) == pytest.approx(got.get("momentum", 0) + got.get("beta", 0))
    assert [p["parameterId"] for p in done["trials"][0]["parameters"]][0] == "opt"


def test_grid_search_enumerates_exactly_its_grid(tuning: Server) -> None:
    parameters = [
        {"parameterId": "a", "integerValueSpec": {"minValue": "1", "maxValue": "3"}},
        {"parameterId": "b", "categoricalValueSpec": {"values": ["x", "y"]}},
    ]
    args = ["--objective=a"]
    done = run(tuning, tuning_job(parameters, args, max_trials=10, parallel=2, algorithm=2))
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    points = sorted((values(t)["a"], values(t)["b"]) for t in done["trials"])
    assert points == [(a, b) for a in (1, 2, 3) for b in ("x", "y")]


def test_failing_and_infeasible_trials_and_max_failed_trial_count(tuning: Server) -> None:
    parameters = [{"parameterId": "n", "integerValueSpec": {"minValue": "1", "maxValue": "4"}}]
    args = ["--objective=n", "--fail-when=n == 1", "--silent-when=n == 2"]
    job = tuning_job(parameters, args, max_trials=4, parallel=2, algorithm="GRID_SEARCH")
    job["maxFailedTrialCount"] = 2
    done = run(tuning, job)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    by_n = {values(t)["n"]: t for t in done["trials"]}
    assert by_n[1]["state"] == "INFEASIBLE" and "failed" in by_n[1]["infeasibleReason"]
    assert "non-zero status of 3" in by_n[1]["infeasibleReason"]
    assert by_n[2]["state"] == "INFEASIBLE"
    assert "without reporting the metric" in by_n[2]["infeasibleReason"]
    assert [by_n[n]["state"] for n in (3, 4)] == ["SUCCEEDED", "SUCCEEDED"]
    assert "finalMeasurement" not in by_n[2]

    every = tuning_job(parameters, ["--objective=n", "--fail-when=True"], max_trials=6, parallel=1)
    every["maxFailedTrialCount"] = 2
    failed = run(tuning, every)
    assert failed["state"] == "JOB_STATE_FAILED"
    assert len(failed["trials"]) == 2
    assert failed["error"]["message"].startswith("2 trials failed (max_failed_trial_count: 2)")


def test_median_rule_stops_a_visibly_bad_trial(tuning: Server) -> None:
    parameters = [{"parameterId": "x", "doubleValueSpec": {"minValue": 0, "maxValue": 1}}]
    args = ["--objective=x", "--steps=4", "--sleep=0.1", "--bad-from-trial=7"]
    job = tuning_job(parameters, args, max_trials=8, parallel=2, medianAutomatedStoppingSpec={})
    done = run(tuning, job)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    # The median rule needs 5 completed trials: the first 5 always run to their end (trial 6,
    # good as it is, may fairly be stopped when it falls below the median).
    good, bad = done["trials"][:5], done["trials"][6:]
    assert all(len(t["measurements"]) == 4 for t in good)
    for trial in bad:  # would report 20 measurements of about -1000 over 2 s
        assert trial["state"] == "SUCCEEDED", trial
        assert 1 <= len(trial["measurements"]) < 20
        assert trial["finalMeasurement"] == trial["measurements"][-1]
        assert final(trial) < -1000
        assert tuning.get(trial["customJob"])["state"] == "JOB_STATE_CANCELLED"
    lines = tuning.client.get(f"/v1/{done['name']}/logs").json()["entries"]
    assert any("stopped it early" in line["text"] for line in lines)


def test_cancel_stops_every_running_trial(tuning: Server, tmp_path: Path) -> None:
    parameters = [{"parameterId": "x", "doubleValueSpec": {"minValue": 0, "maxValue": 1}}]
    args = ["--objective=x", "--steps=600", "--sleep=0.1", f"--pid-dir={tmp_path}"]
    job = tuning_job(parameters, args, max_trials=10, parallel=3)
    response = tuning.client.post(f"/v1/{PARENT}/hyperparameterTuningJobs", json=job)
    name = response.json()["name"]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("*.pid"))) < 3:
        assert time.monotonic() < deadline, tuning.get(name)
        time.sleep(0.1)
    time.sleep(0.5)  # some measurements come in
    pids = [int(p.read_text()) for p in tmp_path.glob("*.pid")]
    assert tuning.client.post(f"/v1/{name}:cancel").json() == {}
    done = tuning.wait_for(name, *TERMINAL, timeout=60)
    assert done["state"] == "JOB_STATE_CANCELLED"
    assert done["error"] == {"code": 1, "message": "CANCELED"}
    assert len(done["trials"]) == 3
    for trial in done["trials"]:
        assert trial["state"] in ("SUCCEEDED", "INFEASIBLE") and "endTime" in trial
        assert tuning.get(trial["customJob"])["state"] == "JOB_STATE_CANCELLED"
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_restart_loses_no_tuning_job(tmp_path: Path) -> None:
    server = Server(tmp_path / "home", "--cpus", "64", "--memory-gb", "4096")
    tuning_wheel(server.home / "buckets" / "test-bucket" / "tuning")
    server.start()
    try:
        parameters = [{"parameterId": "x", "doubleValueSpec": {"minValue": 0, "maxValue": 1}}]
        args = ["--objective=x", "--steps=10", "--sleep=0.1"]
        job = tuning_job(parameters, args, max_trials=6, parallel=2)
        name = server.client.post(f"/v1/{PARENT}/hyperparameterTuningJobs", json=job).json()["name"]
        _wait_for_trials(server, name, 3)
        server.restart(kill=True)  # trials keep running; the tuning job is picked up again
        _wait_for_trials(server, name, 5)
        server.restart()  # a graceful stop interrupts trials: they run again
        done = server.wait_for(name, *TERMINAL, timeout=180)
        assert done["state"] == "JOB_STATE_SUCCEEDED", done
        assert [t["id"] for t in done["trials"]] == [str(i) for i in range(1, 7)]
        assert all(
            t["state"] == "SUCCEEDED" and len(t["measurements"]) >= 10 for t in done["trials"]
        )
        lines = [e["text"] for e in server.client.get(f"/v1/{name}/logs").json()["entries"]]
        assert any("interrupted by a server shutdown" in line for line in lines), lines
    finally:
        server.stop()


def _wait_for_trials(server: Server, name: str, count: int) -> None:
    deadline = time.monotonic() + 120
    while len(server.get(name).get("trials", [])) < count:
        assert time.monotonic() < deadline, server.get(name)
        time.sleep(0.05)
