"""Metrics as the `cloudml-hypertune` package writes them, and a trial's measurements.

`hypertune.HyperTune().report_hyperparameter_tuning_metric(tag, value, global_step)` rewrites
`$CLOUD_ML_HP_METRIC_FILE` on every report with its last 100 reports, one JSON object a line:
`{"timestamp": 1.7e9, "trial": "3", "<tag>": "0.91", "global_step": "10",
"checkpoint_path": ""}`. The file is read while the trial runs (a half-written last line is
skipped) and once more when it has ended; reports newer than the last one seen become
measurements.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vertexd.resources.tuning_job import GoalType, MeasurementSelectionType

DEFAULT_TAG = "training/hptuning/metric"  # what hypertune writes when no tag is given
NOT_METRICS = {"timestamp", "trial", "global_step", "checkpoint_path"}
CHIEF = "workerpool0-0"  # Vertex reads the metrics the chief reports


@dataclass(frozen=True)
class Report:
    timestamp: float
    step: int
    values: dict[str, float]


def metrics_file(jobs_dir: Path, job_id: str) -> Path | None:
    """The chief's metrics file of the job's newest attempt (see launch/prepare.py)."""
    attempts = sorted(
        (jobs_dir / job_id).glob("attempt-*"), key=lambda p: int(p.name.split("-")[-1])
    )
    if not attempts:
        return None
    return attempts[-1] / CHIEF / "hypertune" / "output.metrics"


def read_reports(path: Path | None, metric_ids: list[str], after: float) -> list[Report]:
    """Reports newer than `after` of the study's metrics, oldest first."""
    if path is None:
        return []
    try:
        text = path.read_text()
    except OSError:
        return []
    reports = [_parse(line, metric_ids) for line in text.splitlines()]
    return sorted(
        (r for r in reports if r is not None and r.timestamp > after), key=lambda r: r.timestamp
    )


def _parse(line: str, metric_ids: list[str]) -> Report | None:
    try:
        entry = json.loads(line)
        timestamp = float(entry["timestamp"])
        step = int(float(entry.get("global_step") or 0))
    except (ValueError, KeyError, TypeError):
        return None  # a line cut short while hypertune rewrites the file
    values: dict[str, float] = {}
    for key, raw in entry.items():
        metric = metric_ids[0] if key == DEFAULT_TAG and metric_ids else key
        if key in NOT_METRICS or metric not in metric_ids:
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            continue
        if math.isfinite(value):
            values[metric] = value
    return Report(timestamp, step, values) if values else None


def add_reports(measurements: list[dict[str, Any]], reports: list[Report], start: float) -> None:
    """Append reports as Vertex measurements. A report of another metric at the same
    (non-zero) step as the last measurement joins that measurement."""
    for report in reports:
        last = measurements[-1] if measurements else None
        if last is not None and report.step and _joins(last, report):
            last["metrics"] += [{"metricId": k, "value": v} for k, v in report.values.items()]
            continue
        elapsed = max(0.0, report.timestamp - start)
        measurements.append(
            {
                "elapsedDuration": f"{elapsed:.3f}s",
                "stepCount": str(report.step),
                "metrics": [{"metricId": k, "value": v} for k, v in report.values.items()],
            }
        )


def _joins(measurement: dict[str, Any], report: Report) -> bool:
    have = {m["metricId"] for m in measurement["metrics"]}
    return measurement["stepCount"] == str(report.step) and not have & report.values.keys()


def metric_value(measurement: dict[str, Any], metric_id: str) -> float | None:
    for metric in measurement.get("metrics", []):
        if metric.get("metricId") == metric_id:
            return float(metric["value"])
    return None


def select_final(
    measurements: list[dict[str, Any]],
    metric_id: str,
    goal: GoalType | None,
    selection: MeasurementSelectionType | None,
) -> dict[str, Any] | None:
    """The final measurement: the last one reporting the metric, or the best one."""
    candidates = [m for m in measurements if metric_value(m, metric_id) is not None]
    if not candidates:
        return None
    if selection != MeasurementSelectionType.BEST_MEASUREMENT:
        return candidates[-1]
    sign = -1.0 if goal == GoalType.MINIMIZE else 1.0
    return max(candidates, key=lambda m: sign * (metric_value(m, metric_id) or 0.0))


def optuna_step(measurement: dict[str, Any], position: int, use_elapsed: bool) -> int:
    """The step a measurement is reported to Optuna at: hypertune's global_step if given,
    else its position (1, 2, ...); whole seconds when the stopping spec uses elapsed time."""
    if use_elapsed:
        return int(float(measurement["elapsedDuration"].rstrip("s")))
    step = int(measurement.get("stepCount") or 0)
    return step if step > 0 else position
