"""Validation of a HyperparameterTuningJob, with the field paths and messages Vertex uses."""

from __future__ import annotations

import math
import re
from typing import Any

from vertexd.core.errors import InvalidArgument
from vertexd.resources.custom_job_rules import validate_job_spec
from vertexd.resources.tuning_job import (
    Algorithm,
    ConditionalParameterSpec,
    HyperparameterTuningJob,
    ParameterSpec,
    ScaleType,
    StudySpec,
    bound,
)

MAX_DISCRETE_VALUES = 1000
DISCRETE_EPSILON = 1e-10
GRID_KINDS = ("INTEGER", "CATEGORICAL", "DISCRETE")
CONDITION_FIELDS = {
    "DISCRETE": "parent_discrete_values",
    "INTEGER": "parent_int_values",
    "CATEGORICAL": "parent_categorical_values",
}
_WHITESPACE = re.compile(r"\s")


def validate_tuning_job(job: HyperparameterTuningJob) -> None:
    if not job.display_name:
        raise InvalidArgument("is required.", "display_name")
    _validate_counts(job)
    if job.study_spec is None:
        raise InvalidArgument("is required.", "study_spec")
    validate_study_spec(job.study_spec)
    validate_job_spec(job.trial_job_spec, "trial_job_spec")


def _validate_counts(job: HyperparameterTuningJob) -> None:
    for field in ("max_trial_count", "parallel_trial_count"):
        value = getattr(job, field) or 0
        if value == 0:
            raise InvalidArgument("is required and must be a positive number.", field)
        if value < 0:
            raise InvalidArgument(f"must be a positive number, got {value}.", field)
    if (job.max_failed_trial_count or 0) < 0:
        raise InvalidArgument(
            f"must not be negative, got {job.max_failed_trial_count}.", "max_failed_trial_count"
        )


def validate_study_spec(spec: StudySpec, path: str = "study_spec") -> None:
    _validate_metrics(spec, path)
    parameters = spec.parameters or []
    if not parameters:
        raise InvalidArgument("At least one parameter must be specified.", f"{path}.parameters")
    seen: dict[str, str] = {}
    for index, parameter in enumerate(parameters):
        _validate_parameter(parameter, f"{path}.parameters[{index}]", seen)
    if spec.algorithm == Algorithm.GRID_SEARCH:
        for index, parameter in enumerate(parameters):
            _validate_grid_parameter(parameter, f"{path}.parameters[{index}]")
    _validate_stopping(spec, path)


def _validate_metrics(spec: StudySpec, path: str) -> None:
    metrics = spec.metrics or []
    if not metrics:
        raise InvalidArgument("At least one metric must be specified.", f"{path}.metrics")
    seen: set[str] = set()
    for index, metric in enumerate(metrics):
        where = f"{path}.metrics[{index}].metric_id"
        if not metric.metric_id:
            raise InvalidArgument("is required.", where)
        if _WHITESPACE.search(metric.metric_id):
            raise InvalidArgument(f'"{metric.metric_id}" must not contain whitespace.', where)
        if metric.metric_id in seen:
            raise InvalidArgument(
                f'Duplicate metric_id "{metric.metric_id}": metric ids must be unique.', where
            )
        seen.add(metric.metric_id)


def _validate_parameter(parameter: ParameterSpec, path: str, seen: dict[str, str]) -> None:
    """`seen` maps the parameter ids met so far to the path of the spec that defined them."""
    pid = parameter.parameter_id
    if not pid:
        raise InvalidArgument("is required.", f"{path}.parameter_id")
    if _WHITESPACE.search(pid):
        raise InvalidArgument(f'"{pid}" must not contain whitespace.', f"{path}.parameter_id")
    if pid in seen:
        raise InvalidArgument(
            f'Duplicate parameter_id "{pid}": parameter ids must be unique (also defined at '
            f"{seen[pid]}).",
            f"{path}.parameter_id",
        )
    seen[pid] = path
    kind = parameter.kind()
    specs = [
        parameter.double_value_spec,
        parameter.integer_value_spec,
        parameter.categorical_value_spec,
        parameter.discrete_value_spec,
    ]
    if sum(spec is not None for spec in specs) != 1:
        raise InvalidArgument(
            "Exactly one of double_value_spec, integer_value_spec, categorical_value_spec or "
            "discrete_value_spec must be specified.",
            path,
        )
    _VALUE_CHECKS[kind](parameter, path)
    _validate_conditionals(parameter, path, seen)


def _check_range(parameter: ParameterSpec, path: str, field: str) -> None:
    spec = getattr(parameter, field)
    low, high = bound(spec.min_value), bound(spec.max_value)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InvalidArgument("min_value and max_value must be finite.", f"{path}.{field}")
    if low > high:
        raise InvalidArgument(
            f"min_value ({_show(low)}) must not be greater than max_value ({_show(high)}).",
            f"{path}.{field}.min_value",
        )
    _check_positive_scale(parameter, path, field, low)


def _check_positive_scale(parameter: ParameterSpec, path: str, field: str, low: float) -> None:
    scale = parameter.scale()
    if scale in (ScaleType.UNIT_LOG_SCALE, ScaleType.UNIT_REVERSE_LOG_SCALE) and low <= 0:
        raise InvalidArgument(
            f"{scale.name} requires a strictly positive feasible space, but min_value is "
            f"{_show(low)}.",
            f"{path}.{field}.min_value",
        )


def _check_double(parameter: ParameterSpec, path: str) -> None:
    _check_range(parameter, path, "double_value_spec")


def _check_integer(parameter: ParameterSpec, path: str) -> None:
    _check_range(parameter, path, "integer_value_spec")


def _check_categorical(parameter: ParameterSpec, path: str) -> None:
    assert parameter.categorical_value_spec is not None
    values = parameter.categorical_value_spec.values or []
    where = f"{path}.categorical_value_spec.values"
    if not values:
        raise InvalidArgument("At least one value must be specified.", where)
    if len(set(values)) != len(values):
        raise InvalidArgument("Values must be unique.", where)
    if parameter.scale() != ScaleType.SCALE_TYPE_UNSPECIFIED:
        raise InvalidArgument("must be unset for a CATEGORICAL parameter.", f"{path}.scale_type")


def _check_discrete(parameter: ParameterSpec, path: str) -> None:
    assert parameter.discrete_value_spec is not None
    values = parameter.discrete_value_spec.values or []
    where = f"{path}.discrete_value_spec.values"
    if not values:
        raise InvalidArgument("At least one value must be specified.", where)
    if len(values) > MAX_DISCRETE_VALUES:
        raise InvalidArgument(f"At most {MAX_DISCRETE_VALUES} values are allowed.", where)
    if not all(math.isfinite(v) for v in values):
        raise InvalidArgument("Values must be finite.", where)
    for earlier, later in zip(values, values[1:], strict=False):
        if later - earlier < DISCRETE_EPSILON:
            raise InvalidArgument(
                "Values must be in increasing order and at least 1e-10 apart, but "
                f"{_show(later)} follows {_show(earlier)}.",
                where,
            )
    _check_positive_scale(parameter, path, "discrete_value_spec", values[0])


_VALUE_CHECKS = {
    "DOUBLE": _check_double,
    "INTEGER": _check_integer,
    "CATEGORICAL": _check_categorical,
    "DISCRETE": _check_discrete,
}


def _validate_conditionals(parent: ParameterSpec, path: str, seen: dict[str, str]) -> None:
    children = parent.conditional_parameter_specs or []
    if not children:
        return
    kind = parent.kind()
    if kind == "DOUBLE":
        raise InvalidArgument(
            "A DOUBLE parameter cannot have conditional parameters; use an INTEGER, "
            "CATEGORICAL or DISCRETE parent.",
            f"{path}.conditional_parameter_specs",
        )
    taken: dict[str, list[Any]] = {}  # child parameter id -> parent values already claimed
    for index, child in enumerate(children):
        where = f"{path}.conditional_parameter_specs[{index}]"
        values = _check_condition(parent, kind, child, where)
        spec = child.parameter_spec
        if spec is None:
            raise InvalidArgument("is required.", f"{where}.parameter_spec")
        pid = spec.parameter_id or ""
        claimed = taken.get(pid, [])
        overlap = [v for v in values if any(same_value(v, c) for c in claimed)]
        if overlap:
            raise InvalidArgument(
                f'Conditional parameter specs for "{pid}" have overlapping parent value '
                f"conditions: {_show(overlap[0])} appears in more than one.",
                f"{where}.{CONDITION_FIELDS[kind]}",
            )
        # Sibling specs with one parameter id and disjoint conditions are one parameter.
        scope = seen if pid not in taken else {k: v for k, v in seen.items() if k != pid}
        _validate_parameter(spec, f"{where}.parameter_spec", scope)
        seen.update(scope)
        taken[pid] = claimed + values


def _check_condition(
    parent: ParameterSpec, kind: str, child: ConditionalParameterSpec, where: str
) -> list[Any]:
    field = CONDITION_FIELDS[kind]
    given = [
        name
        for name in CONDITION_FIELDS.values()
        if getattr(child, name) is not None and name != field
    ]
    if given:
        raise InvalidArgument(
            f"{given[0]} does not match the parent parameter "
            f'"{parent.parameter_id}", which is {kind}; use {field}.',
            f"{where}.{given[0]}",
        )
    values = child.condition_values()
    if not values:
        raise InvalidArgument("At least one parent value must be specified.", f"{where}.{field}")
    feasible = parent_values(parent)
    for value in values:
        if not _feasible(parent, value, feasible):
            raise InvalidArgument(
                f'{_show(value)} is not a feasible value of the parent parameter "'
                f'{parent.parameter_id}".',
                f"{where}.{field}.values",
            )
    return values


def parent_values(parent: ParameterSpec) -> list[Any]:
    if parent.categorical_value_spec is not None:
        return list(parent.categorical_value_spec.values or [])
    if parent.discrete_value_spec is not None:
        return list(parent.discrete_value_spec.values or [])
    return []


def _feasible(parent: ParameterSpec, value: Any, feasible: list[Any]) -> bool:
    if parent.integer_value_spec is not None:
        spec = parent.integer_value_spec
        return bound(spec.min_value) <= value <= bound(spec.max_value)
    return any(same_value(value, option) for option in feasible)


def same_value(a: Any, b: Any) -> bool:
    """Equality of parameter values; numbers match within 1e-10, as Vertex's conditions do."""
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    return abs(float(a) - float(b)) <= DISCRETE_EPSILON


def _validate_grid_parameter(parameter: ParameterSpec, path: str) -> None:
    if parameter.kind() not in GRID_KINDS:
        raise InvalidArgument(
            f'GRID_SEARCH only supports INTEGER, CATEGORICAL and DISCRETE parameters, but "'
            f'{parameter.parameter_id}" is {parameter.kind()}.',
            path,
        )
    for index, child in enumerate(parameter.conditional_parameter_specs or []):
        if child.parameter_spec is not None:
            where = f"{path}.conditional_parameter_specs[{index}].parameter_spec"
            _validate_grid_parameter(child.parameter_spec, where)


def _validate_stopping(spec: StudySpec, path: str) -> None:
    given = [
        name
        for name in (
            "decay_curve_stopping_spec",
            "median_automated_stopping_spec",
            "convex_automated_stopping_spec",
        )
        if getattr(spec, name) is not None
    ]
    if len(given) > 1:
        raise InvalidArgument(
            f"At most one automated stopping spec may be set, got {' and '.join(given)}.", path
        )
    convex = spec.convex_automated_stopping_spec
    if convex is not None:
        low, high = convex.min_step_count or 0, convex.max_step_count or 0
        where = f"{path}.convex_automated_stopping_spec"
        if min(low, high, convex.min_measurement_count or 0) < 0:
            raise InvalidArgument("Step and measurement counts must not be negative.", where)
        if high and low > high:
            raise InvalidArgument(
                f"min_step_count ({low}) must not be greater than max_step_count ({high}).",
                f"{where}.min_step_count",
            )


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if not isinstance(value, str) else f'"{value}"'
