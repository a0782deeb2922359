"""A tuning job's `trials[]` in wire form: the trial state machine and its named
transitions, the best trial, and the CustomJob each trial runs. Pure functions over the
job's body, which the tuning run changes only through `JobStore.update_body` (a
compare-and-set).

    ACTIVE --stop--> STOPPING --finish--> SUCCEEDED | INFEASIBLE
      └-----------------finish-----------------┘
"""

from __future__ import annotations

import copy
import math
from enum import StrEnum
from typing import Any

from vertexd.resources.common import format_time, now
from vertexd.resources.tuning_job import GoalType, HyperparameterTuningJob
from vertexd.tuning.metrics import metric_value


class TrialState(StrEnum):
    ACTIVE = "ACTIVE"
    STOPPING = "STOPPING"
    SUCCEEDED = "SUCCEEDED"
    INFEASIBLE = "INFEASIBLE"


ALLOWED: dict[TrialState, frozenset[TrialState]] = {
    TrialState.ACTIVE: frozenset(
        {TrialState.STOPPING, TrialState.SUCCEEDED, TrialState.INFEASIBLE}
    ),
    TrialState.STOPPING: frozenset({TrialState.SUCCEEDED, TrialState.INFEASIBLE}),
}
RUNNING_STATES = (TrialState.ACTIVE, TrialState.STOPPING)


def can_move(current: str, target: TrialState) -> bool:
    return target in ALLOWED.get(TrialState(current), frozenset())


# maxFailedTrialCount 0: "the service decides". vertexd fails the job once this share of
# maxTrialCount has failed, but never before MIN_AUTO_FAILURES failures.
AUTO_FAILURE_SHARE = 0.2
MIN_AUTO_FAILURES = 3


def new_trial(trial_id: str, values: dict[str, Any], custom_job: str) -> dict[str, Any]:
    return {
        "id": trial_id,
        "state": TrialState.ACTIVE.value,
        "parameters": [{"parameterId": k, "value": v} for k, v in values.items()],
        "startTime": format_time(now()),
        "customJob": custom_job,
    }


def find(body: dict[str, Any], trial_id: str) -> dict[str, Any]:
    return next(t for t in body.get("trials", []) if t["id"] == trial_id)


def running(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in body.get("trials", []) if t["state"] in RUNNING_STATES]


def parameter_values(trial: dict[str, Any]) -> dict[str, Any]:
    return {p["parameterId"]: p["value"] for p in trial.get("parameters", [])}


def stop(trial: dict[str, Any]) -> bool:
    """ACTIVE -> STOPPING; False (and no change) if the machine does not allow it."""
    if not can_move(trial["state"], TrialState.STOPPING):
        return False
    trial["state"] = TrialState.STOPPING.value
    return True


def finish(
    trial: dict[str, Any],
    state: TrialState,
    final: dict[str, Any] | None = None,
    reason: str | None = None,
) -> bool:
    """-> SUCCEEDED or INFEASIBLE; False (and no change) if the trial has ended already."""
    if not can_move(trial["state"], state):
        return False
    trial["state"] = state.value
    trial["endTime"] = format_time(now())
    if final is not None:
        trial["finalMeasurement"] = final
    if reason:
        trial["infeasibleReason"] = reason
    return True


def job_id_of(custom_job_name: str) -> str:
    return custom_job_name.rsplit("/", 1)[-1]


def trial_custom_job(
    job: HyperparameterTuningJob, body: dict[str, Any], trial_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    """The trial's CustomJob: the trialJobSpec with `--<parameterId>=<value>` appended to the
    args of every pool, containers and Python packages alike."""
    spec = copy.deepcopy(body["trialJobSpec"])
    args = trial_args(values)
    for pool in spec.get("workerPoolSpecs", []):
        for software in ("containerSpec", "pythonPackageSpec"):
            if pool.get(software) is not None:
                pool[software]["args"] = list(pool[software].get("args") or []) + args
    custom_job: dict[str, Any] = {
        "displayName": f"{job.display_name}-trial-{trial_id}"[:128],
        "jobSpec": spec,
    }
    if job.labels:
        custom_job["labels"] = dict(job.labels)
    return custom_job


def failure_limit(job: HyperparameterTuningJob) -> int:
    if job.max_failed_trial_count:
        return job.max_failed_trial_count
    total = job.max_trial_count or 1
    return min(total, max(MIN_AUTO_FAILURES, math.ceil(total * AUTO_FAILURE_SHARE)))


def best_trial(job: dict[str, Any]) -> dict[str, Any] | None:
    """The SUCCEEDED trial with the best final value of the first metric of the study."""
    metrics = (job.get("studySpec") or {}).get("metrics") or []
    if not metrics:
        return None
    metric = metrics[0].get("metricId", "")
    scored = [
        trial
        for trial in job.get("trials") or []
        if trial.get("state") == TrialState.SUCCEEDED
        and metric_value(trial.get("finalMeasurement") or {}, metric) is not None
    ]
    ranked = best_first(scored, metric, metrics[0].get("goal"))
    return ranked[0] if ranked else None


def best_first(
    trials: list[dict[str, Any]], metric_id: str, goal: GoalType | str | int | None
) -> list[dict[str, Any]]:
    """Trials with a final value, best first (highest, unless the goal is MINIMIZE); then
    the others by id."""
    minimize = goal in (GoalType.MINIMIZE, "MINIMIZE", 2)

    def key(trial: dict[str, Any]) -> tuple[int, float, int]:
        value = metric_value(trial.get("finalMeasurement") or {}, metric_id)
        number = int(trial["id"]) if str(trial["id"]).isdigit() else 0
        if value is None:
            return (1, 0.0, number)
        return (0, value if minimize else -value, number)

    return sorted(trials, key=key)


def format_value(value: Any) -> str:
    """`--<parameterId>=<value>`'s value: integral numbers without a fraction (`32`, not `32.0`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def trial_args(values: dict[str, Any]) -> list[str]:
    return [f"--{pid}={format_value(value)}" for pid, value in values.items()]
