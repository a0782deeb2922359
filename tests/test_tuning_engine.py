"""The tuning engine without a server: search spaces, scales, grids, metrics, Optuna mapping."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import optuna
import pytest

from vertexd.resources.tuning_job import HyperparameterTuningJob, StudySpec
from vertexd.tuning import optuna_map
from vertexd.tuning.engine import COMPLETE, PRUNED, Engine
from vertexd.tuning.metrics import add_reports, metrics_file, read_reports, select_final
from vertexd.tuning.space import SearchSpace, grid_points
from vertexd.tuning.trials import (
    best_first,
    failure_limit,
    format_value,
    trial_args,
    trial_custom_job,
)

METRICS = [{"metricId": "score", "goal": "MAXIMIZE"}]
CONDITIONAL = [
    {
        "parameterId": "opt",
        "categoricalValueSpec": {"values": ["sgd", "adam"]},
        "conditionalParameterSpecs": [
            {
                "parentCategoricalValues": {"values": ["sgd"]},
                "parameterSpec": {
                    "parameterId": "momentum",
                    "doubleValueSpec": {"minValue": 0.1, "maxValue": 0.9},
                },
            },
            {
                "parentCategoricalValues": {"values": ["adam"]},
                "parameterSpec": {
                    "parameterId": "beta",
                    "discreteValueSpec": {"values": [0.9, 0.99, 0.999]},
                },
            },
        ],
    }
]


def spec(parameters: list[dict], **extra: object) -> StudySpec:
    return StudySpec.model_validate({"metrics": METRICS, "parameters": parameters, **extra})


def sample(study_spec: StudySpec, count: int) -> list[dict]:
    space = SearchSpace(study_spec)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=7))
    found = []
    for _ in range(count):
        trial = study.ask()
        found.append(space.suggest(trial))
        study.tell(trial, 0.0)
    return found


def test_scales_shape_where_values_fall() -> None:
    parameters = [
        {"parameterId": "lin", "doubleValueSpec": {"minValue": 1, "maxValue": 100}},
        {
            "parameterId": "log",
            "doubleValueSpec": {"minValue": 1, "maxValue": 100},
            "scaleType": "UNIT_LOG_SCALE",
        },
        {
            "parameterId": "rev",
            "doubleValueSpec": {"minValue": 1, "maxValue": 100},
            "scaleType": 3,
        },
        {
            "parameterId": "ilog",
            "integerValueSpec": {"minValue": "1", "maxValue": "1000"},
            "scaleType": "UNIT_LOG_SCALE",
        },
    ]
    values = sample(spec(parameters), 400)
    median = {key: statistics.median(v[key] for v in values) for key in values[0]}
    assert 35 < median["lin"] < 65
    assert 5 < median["log"] < 20  # log-uniform on [1, 100]: median 10
    assert 80 < median["rev"] < 96  # mirrored: dense near the top, median 100 + 1 - 10
    assert 15 < median["ilog"] < 60 and all(isinstance(v["ilog"], int) for v in values)
    assert all(1 <= v[key] <= 100 for v in values for key in ("lin", "log", "rev"))


def test_discrete_and_categorical_take_only_their_values() -> None:
    parameters = [
        {"parameterId": "batch", "discreteValueSpec": {"values": [16, 32, 64]}},
        {"parameterId": "act", "categoricalValueSpec": {"values": ["relu", "tanh"]}},
        {"parameterId": "zero", "integerValueSpec": {"maxValue": "2"}},  # minValue 0 left out
    ]
    values = sample(spec(parameters), 60)
    assert {v["batch"] for v in values} == {16, 32, 64}
    assert {v["act"] for v in values} == {"relu", "tanh"}
    assert {v["zero"] for v in values} == {0, 1, 2}


def test_conditional_children_only_under_their_condition() -> None:
    for values in sample(spec(CONDITIONAL), 40):
        if values["opt"] == "sgd":
            assert set(values) == {"opt", "momentum"} and 0.1 <= values["momentum"] <= 0.9
        else:
            assert set(values) == {"opt", "beta"} and values["beta"] in (0.9, 0.99, 0.999)


def test_grid_enumerates_every_point_once_with_conditionals() -> None:
    parameters = [
        *CONDITIONAL,
        {"parameterId": "n", "integerValueSpec": {"minValue": 1, "maxValue": 2}},
    ]
    parameters[0]["conditionalParameterSpecs"][0]["parameterSpec"] = {
        "parameterId": "momentum",
        "discreteValueSpec": {"values": [0.5, 0.9]},
    }
    points = list(grid_points(spec(parameters).parameters or []))
    # sgd x 2 momenta + adam x 3 betas, times n in {1, 2}
    assert len(points) == 10
    assert len({json.dumps(p, sort_keys=True) for p in points}) == 10
    study_spec = spec(parameters, algorithm="GRID_SEARCH")
    engine = Engine(study_spec)
    asked = [engine.ask(str(i)) for i in range(1, 11)]
    assert sorted(json.dumps(p, sort_keys=True) for p in asked) == sorted(
        json.dumps(p, sort_keys=True) for p in points
    )
    assert engine.capacity() == 10


def test_restored_study_keeps_history_and_running_trials() -> None:
    study_spec = spec(CONDITIONAL, medianAutomatedStoppingSpec={})
    engine = Engine(study_spec)
    for number in range(1, 7):
        values = engine.ask(str(number))
        measurements = [_measurement(step, float(number)) for step in (1, 2)]
        assert engine.report(str(number), measurements) is False
        engine.tell(str(number), COMPLETE, float(number))
        assert values
    restored = Engine(study_spec)
    for number, trial in enumerate(engine.study.trials, start=1):
        stored = _stored_trial(str(number), engine.space, trial.params, trial.value)
        restored.restore(stored, COMPLETE)
    running = _stored_trial("7", engine.space, engine.study.trials[0].params, None)
    running.update(state="ACTIVE", measurements=[])
    restored.restore(running, None)
    assert len(restored.study.trials) == 7
    assert restored.study.best_value == 6.0
    # the running trial reports a terrible value: the median rule stops it
    assert restored.report("7", [_measurement(1, -100.0)]) is True
    restored.tell("7", PRUNED)
    assert restored.study.trials[-1].state == optuna.trial.TrialState.PRUNED


def _measurement(step: int, value: float) -> dict:
    return {
        "elapsedDuration": f"{step}.0s",
        "stepCount": str(step),
        "metrics": [{"metricId": "score", "value": value}],
    }


def _stored_trial(trial_id: str, space: SearchSpace, params: dict, value: float | None) -> dict:
    from optuna.trial import FixedTrial

    values = space.suggest(FixedTrial(params))
    trial = {
        "id": trial_id,
        "state": "SUCCEEDED",
        "parameters": [{"parameterId": k, "value": v} for k, v in values.items()],
        "measurements": [_measurement(1, value or 0.0)],
    }
    if value is not None:
        trial["finalMeasurement"] = _measurement(2, value)
    return trial


def test_samplers_and_pruners_follow_the_spec() -> None:
    parameters = [{"parameterId": "n", "integerValueSpec": {"minValue": 1, "maxValue": 3}}]
    default = optuna_map.make_sampler(spec(parameters), SearchSpace(spec(parameters)))
    bayesian = (
        optuna.samplers.GPSampler if optuna_map.gp_available() else optuna.samplers.TPESampler
    )
    assert isinstance(default, bayesian)
    with_conditionals = optuna_map.make_sampler(spec(CONDITIONAL), SearchSpace(spec(CONDITIONAL)))
    assert isinstance(with_conditionals, optuna.samplers.TPESampler)
    random_spec = spec(parameters, algorithm=3)
    assert isinstance(
        optuna_map.make_sampler(random_spec, SearchSpace(random_spec)),
        optuna.samplers.RandomSampler,
    )
    pruners = {
        "medianAutomatedStoppingSpec": optuna.pruners.MedianPruner,
        "decayCurveStoppingSpec": optuna.pruners.PatientPruner,
        "convexAutomatedStoppingSpec": optuna.pruners.PercentilePruner,
    }
    for field, kind in pruners.items():
        assert isinstance(optuna_map.make_pruner(spec(parameters, **{field: {}})), kind)
    assert isinstance(optuna_map.make_pruner(spec(parameters)), optuna.pruners.NopPruner)
    minimize = StudySpec.model_validate(
        {"metrics": [{"metricId": "loss", "goal": 2}], "parameters": parameters}
    )
    assert optuna_map.direction(minimize) == "minimize"


def test_hypertune_reports_become_measurements(tmp_path: Path) -> None:
    run = tmp_path / "42" / "attempt-2" / "workerpool0-0" / "hypertune"
    run.mkdir(parents=True)
    (tmp_path / "42" / "attempt-1").mkdir()
    lines = [
        {"timestamp": 100.5, "trial": "1", "acc": "0.5", "global_step": "1", "checkpoint_path": ""},
        {
            "timestamp": 101.0,
            "trial": "1",
            "loss": "2.0",
            "global_step": "1",
            "checkpoint_path": "",
        },
        {"timestamp": 102.0, "trial": "1", "acc": "0.7", "global_step": "2", "checkpoint_path": ""},
        {"timestamp": 103.0, "trial": "1", "other": "9", "global_step": "3", "checkpoint_path": ""},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + '\n{"timestamp": 104, "acc'
    (run / "output.metrics").write_text(text)
    path = metrics_file(tmp_path, "42")
    assert path == run / "output.metrics"
    reports = read_reports(path, ["acc", "loss"], after=100.0)
    assert [r.timestamp for r in reports] == [100.5, 101.0, 102.0]
    measurements: list[dict] = []
    add_reports(measurements, reports, start=100.0)
    assert measurements == [
        {
            "elapsedDuration": "0.500s",
            "stepCount": "1",
            "metrics": [{"metricId": "acc", "value": 0.5}, {"metricId": "loss", "value": 2.0}],
        },
        {
            "elapsedDuration": "2.000s",
            "stepCount": "2",
            "metrics": [{"metricId": "acc", "value": 0.7}],
        },
    ]
    assert read_reports(path, ["acc"], after=102.0) == []
    last = select_final(measurements, "acc", None, None)
    assert last is measurements[1]
    best_low = select_final(measurements, "acc", 2, 2)  # MINIMIZE, BEST_MEASUREMENT
    assert best_low is measurements[0]


def test_default_tag_counts_for_the_first_metric(tmp_path: Path) -> None:
    path = tmp_path / "output.metrics"
    line = {"timestamp": 5.0, "training/hptuning/metric": "1.5", "global_step": "0"}
    path.write_text(json.dumps(line) + "\n")
    assert read_reports(path, ["auc"], 0.0)[0].values == {"auc": 1.5}


def test_trial_args_and_custom_job_for_containers_and_packages() -> None:
    assert trial_args({"lr": 0.001, "n": 3, "batch": 32.0, "opt": "adam", "tiny": 1e-07}) == [
        "--lr=0.001",
        "--n=3",
        "--batch=32",
        "--opt=adam",
        "--tiny=1e-07",
    ]
    assert format_value(2.5) == "2.5"
    body = {
        "displayName": "hp",
        "labels": {"team": "a"},
        "trialJobSpec": {
            "workerPoolSpecs": [
                {"containerSpec": {"imageUri": "img", "args": ["--epochs=2"]}},
                {},
                {"pythonPackageSpec": {"executorImageUri": "x", "pythonModule": "m"}},
            ]
        },
    }
    job = HyperparameterTuningJob.model_validate(body)
    custom = trial_custom_job(job, body, "4", {"lr": 0.5})
    pools = custom["jobSpec"]["workerPoolSpecs"]
    assert pools[0]["containerSpec"]["args"] == ["--epochs=2", "--lr=0.5"]
    assert pools[1] == {}
    assert pools[2]["pythonPackageSpec"]["args"] == ["--lr=0.5"]
    assert custom["displayName"] == "hp-trial-4" and custom["labels"] == {"team": "a"}
    assert body["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["args"] == ["--epochs=2"]


@pytest.mark.parametrize(
    ("given", "total", "limit"), [(0, 30, 6), (0, 10, 3), (0, 2, 2), (0, 100, 20), (4, 30, 4)]
)
def test_failure_limit(given: int, total: int, limit: int) -> None:
    job = HyperparameterTuningJob(max_failed_trial_count=given, max_trial_count=total)
    assert failure_limit(job) == limit


def test_best_first_orders_by_goal() -> None:
    trials = [
        {"id": "1", "finalMeasurement": _measurement(1, 0.2)},
        {"id": "2"},
        {"id": "3", "finalMeasurement": _measurement(1, 0.9)},
    ]
    assert [t["id"] for t in best_first(trials, "score", "MAXIMIZE")] == ["3", "1", "2"]
    assert [t["id"] for t in best_first(trials, "score", "MINIMIZE")] == ["1", "3", "2"]
    assert math.isclose(0.2, trials[0]["finalMeasurement"]["metrics"][0]["value"])
