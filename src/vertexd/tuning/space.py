"""Vertex parameter specs <-> Optuna's define-by-run suggestions.

`SearchSpace.suggest(trial)` walks the parameter tree: each parameter is suggested, then the
conditional children whose parent-value condition holds (define-by-run, so an inactive child
is never suggested). Optuna sees a few parameters in another form than Vertex:

- UNIT_REVERSE_LOG_SCALE: Optuna samples y log-uniformly and the value is min + max - y
  (dense near the top of the range, as Vertex's reverse log scale);
- DISCRETE: Optuna samples the index of the value (an ordered integer), not the value;
- conditional children are named `<parent name>/<condition index>/<id>` (siblings may share
  an id when their conditions are disjoint);
- GRID_SEARCH: Optuna's GridSampler walks one integer, the index of a point of the grid that
  `grid_points` enumerates (conditional children included).

`optuna_params` is the inverse: stored Vertex values -> Optuna's, to rebuild a study.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Protocol

from optuna.distributions import BaseDistribution
from optuna.trial import FixedTrial

from vertexd.core.errors import InvalidArgument
from vertexd.resources.tuning_job import Algorithm, ParameterSpec, ScaleType, StudySpec, bound
from vertexd.resources.tuning_job_rules import same_value

GRID_PARAM = "grid_point"
MAX_GRID_POINTS = 100_000


class Suggester(Protocol):
    """What `optuna.Trial` and `optuna.trial.FixedTrial` both offer."""

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int: ...

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


class SearchSpace:
    def __init__(self, spec: StudySpec) -> None:
        self.parameters = list(spec.parameters or [])
        self.grid: list[dict[str, Any]] | None = None
        if spec.algorithm == Algorithm.GRID_SEARCH:
            size = grid_size(self.parameters)
            if size > MAX_GRID_POINTS:
                raise InvalidArgument(
                    f"The grid has {size} points; GRID_SEARCH supports at most "
                    f"{MAX_GRID_POINTS}. Narrow the parameters' ranges.",
                    "study_spec.parameters",
                )
            self.grid = list(grid_points(self.parameters))

    def suggest(self, trial: Suggester) -> dict[str, Any]:
        """The trial's Vertex parameter values, in the order of the spec's tree."""
        if self.grid is not None:
            return dict(self.grid[trial.suggest_int(GRID_PARAM, 0, len(self.grid) - 1)])
        values: dict[str, Any] = {}
        for spec in self.parameters:
            self._suggest(spec, spec.parameter_id or "", trial, values)
        return values

    def _suggest(
        self, spec: ParameterSpec, name: str, trial: Suggester, values: dict[str, Any]
    ) -> None:
        value = _suggest_one(spec, name, trial)
        values[spec.parameter_id or ""] = value
        for index, child in _active_children(spec, value):
            assert child.parameter_spec is not None
            child_name = f"{name}/{index}/{child.parameter_spec.parameter_id}"
            self._suggest(child.parameter_spec, child_name, trial, values)

    def optuna_params(self, values: dict[str, Any]) -> dict[str, Any]:
        """Vertex values of a stored trial -> the parameters Optuna would have suggested."""
        if self.grid is not None:
            index = next(i for i, point in enumerate(self.grid) if _same_point(point, values))
            return {GRID_PARAM: index}
        params: dict[str, Any] = {}
        for spec in self.parameters:
            _to_optuna(spec, spec.parameter_id or "", values, params)
        return params

    def distributions(self, params: dict[str, Any]) -> dict[str, BaseDistribution]:
        fixed = FixedTrial(params)
        self.suggest(fixed)
        return dict(fixed.distributions)


def _suggest_one(spec: ParameterSpec, name: str, trial: Suggester) -> Any:
    scale = spec.scale()
    if spec.double_value_spec is not None:
        low, high = bound(spec.double_value_spec.min_value), bound(spec.double_value_spec.max_value)
        if scale == ScaleType.UNIT_REVERSE_LOG_SCALE:
            mirrored = trial.suggest_float(name, low, high, log=True)
            return min(high, max(low, low + high - mirrored))
        return trial.suggest_float(name, low, high, log=scale == ScaleType.UNIT_LOG_SCALE)
    if spec.integer_value_spec is not None:
        low_i = int(bound(spec.integer_value_spec.min_value))
        high_i = int(bound(spec.integer_value_spec.max_value))
        if scale == ScaleType.UNIT_REVERSE_LOG_SCALE:
            return low_i + high_i - trial.suggest_int(name, low_i, high_i, log=True)
        return trial.suggest_int(name, low_i, high_i, log=scale == ScaleType.UNIT_LOG_SCALE)
    if spec.categorical_value_spec is not None:
        return trial.suggest_categorical(name, list(spec.categorical_value_spec.values or []))
    assert spec.discrete_value_spec is not None
    options = list(spec.discrete_value_spec.values or [])
    return options[trial.suggest_int(name, 0, len(options) - 1)]


def _to_optuna(
    spec: ParameterSpec, name: str, values: dict[str, Any], params: dict[str, Any]
) -> None:
    value = values[spec.parameter_id or ""]
    params[name] = _optuna_value(spec, value)
    for index, child in _active_children(spec, value):
        assert child.parameter_spec is not None
        child_name = f"{name}/{index}/{child.parameter_spec.parameter_id}"
        _to_optuna(child.parameter_spec, child_name, values, params)


def _optuna_value(spec: ParameterSpec, value: Any) -> Any:
    reverse = spec.scale() == ScaleType.UNIT_REVERSE_LOG_SCALE
    if spec.double_value_spec is not None:
        low, high = bound(spec.double_value_spec.min_value), bound(spec.double_value_spec.max_value)
        return low + high - float(value) if reverse else float(value)
    if spec.integer_value_spec is not None:
        low_i = int(bound(spec.integer_value_spec.min_value))
        high_i = int(bound(spec.integer_value_spec.max_value))
        return low_i + high_i - int(value) if reverse else int(value)
    if spec.categorical_value_spec is not None:
        return str(value)
    assert spec.discrete_value_spec is not None
    options = list(spec.discrete_value_spec.values or [])
    return min(range(len(options)), key=lambda i: abs(options[i] - float(value)))


def _active_children(spec: ParameterSpec, value: Any) -> Iterator[tuple[int, Any]]:
    for index, child in enumerate(spec.conditional_parameter_specs or []):
        if any(same_value(value, wanted) for wanted in child.condition_values() or []):
            yield index, child


# -- grid search ------------------------------------------------------------------------------
def grid_values(spec: ParameterSpec) -> list[Any]:
    if spec.integer_value_spec is not None:
        low = int(bound(spec.integer_value_spec.min_value))
        return list(range(low, int(bound(spec.integer_value_spec.max_value)) + 1))
    if spec.categorical_value_spec is not None:
        return list(spec.categorical_value_spec.values or [])
    assert spec.discrete_value_spec is not None
    return list(spec.discrete_value_spec.values or [])


def grid_size(parameters: list[ParameterSpec]) -> int:
    return math.prod(_spec_size(spec) for spec in parameters)


def _spec_size(spec: ParameterSpec) -> int:
    if spec.integer_value_spec is not None:
        count = int(
            bound(spec.integer_value_spec.max_value) - bound(spec.integer_value_spec.min_value)
        )
        if count > MAX_GRID_POINTS and not spec.conditional_parameter_specs:
            return count + 1  # no need to walk a huge range to know it is too large
    total = 0
    for value in grid_values(spec):
        children = [c.parameter_spec for _, c in _active_children(spec, value) if c.parameter_spec]
        total += math.prod(_spec_size(child) for child in children)
    return total


def grid_points(parameters: list[ParameterSpec]) -> Iterator[dict[str, Any]]:
    """Every combination of feasible values; a conditional child only under its condition."""
    points: list[dict[str, Any]] = [{}]
    for spec in parameters:
        points = [{**point, **sub} for point in points for sub in _spec_points(spec)]
    yield from points


def _spec_points(spec: ParameterSpec) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    for value in grid_values(spec):
        branch: list[dict[str, Any]] = [{spec.parameter_id or "": value}]
        for _, child in _active_children(spec, value):
            assert child.parameter_spec is not None
            subs = _spec_points(child.parameter_spec)
            branch = [{**head, **sub} for head in branch for sub in subs]
        points.extend(branch)
    return points


def _same_point(point: dict[str, Any], values: dict[str, Any]) -> bool:
    return point.keys() == values.keys() and all(
        same_value(point[key], values[key]) for key in point
    )
