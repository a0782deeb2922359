"""Vertex StudySpec settings -> Optuna samplers, pruners and study direction.

| Vertex                              | Optuna                                                  |
| ----------------------------------- | ------------------------------------------------------- |
| algorithm unspecified (Bayesian)    | GPSampler (torch installed, no conditional parameters), |
|                                     | else TPESampler(multivariate, group, constant_liar)     |
| GRID_SEARCH                         | GridSampler over the enumerated grid                    |
| RANDOM_SEARCH                       | RandomSampler                                           |
| medianAutomatedStoppingSpec         | MedianPruner                                            |
| decayCurveStoppingSpec              | PatientPruner(MedianPruner, patience=2)                 |
| convexAutomatedStoppingSpec         | PercentilePruner(75) (minStepCount, minMeasurementCount) |

The README explains each choice. Only the first metric drives the search.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import optuna
from optuna.pruners import (
    BasePruner,
    MedianPruner,
    NopPruner,
    PatientPruner,
    PercentilePruner,
)
from optuna.samplers import BaseSampler, GPSampler, GridSampler, RandomSampler, TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from vertexd.resources.tuning_job import Algorithm, GoalType, StudySpec
from vertexd.tuning.space import GRID_PARAM, SearchSpace

# Completed trials needed before a pruner may stop another trial (Optuna's own default).
STARTUP_TRIALS = 5
# The decay-curve rule waits for a trial's curve to flatten for this many measurements.
DECAY_PATIENCE = 2
# The convex rule stops only trials in the bottom quarter at their step.
CONVEX_PERCENTILE = 75.0

optuna.logging.set_verbosity(optuna.logging.WARNING)


class AskTellGridSampler(GridSampler):
    """GridSampler calls `study.stop()` once the grid is used up, which only works inside
    `study.optimize`; with ask-and-tell the controller asks `is_exhausted` instead."""

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        return None


def direction(spec: StudySpec) -> Literal["minimize", "maximize"]:
    goal = (spec.metrics or [])[0].goal
    return "minimize" if goal == GoalType.MINIMIZE else "maximize"


def make_sampler(spec: StudySpec, space: SearchSpace) -> BaseSampler:
    if spec.algorithm == Algorithm.RANDOM_SEARCH:
        return RandomSampler()
    if spec.algorithm == Algorithm.GRID_SEARCH:
        assert space.grid is not None
        return AskTellGridSampler({GRID_PARAM: list(range(len(space.grid)))})
    if gp_available() and not has_conditionals(spec):
        return _gp_sampler()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # group=True: conditional parameters form their own groups in the multivariate model;
        # constant_liar=True: parallel trials still running count as bad, so they spread out.
        return TPESampler(multivariate=True, group=True, constant_liar=True)


def gp_available() -> bool:
    """Optuna's GPSampler needs PyTorch and SciPy (`pip install vertexd[bayesian]`)."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "scipy"))


def has_conditionals(spec: StudySpec) -> bool:
    return any(p.conditional_parameter_specs for p in spec.parameters or [])


def _gp_sampler() -> BaseSampler:
    import torch

    # The GP fits in the server process: leave the cores to the trials.
    torch.set_num_threads(1)
    return GPSampler()


def describe_sampler(sampler: BaseSampler) -> str:
    kinds = {
        GPSampler: "Bayesian optimization with a Gaussian process (Optuna GPSampler)",
        TPESampler: "Bayesian optimization with TPE (Optuna TPESampler)",
        GridSampler: "grid search (Optuna GridSampler)",
        RandomSampler: "random search (Optuna RandomSampler)",
    }
    return next((text for kind, text in kinds.items() if isinstance(sampler, kind)), "?")


def make_pruner(spec: StudySpec) -> BasePruner:
    if spec.median_automated_stopping_spec is not None:
        return MedianPruner(n_startup_trials=STARTUP_TRIALS)
    if spec.decay_curve_stopping_spec is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return PatientPruner(MedianPruner(n_startup_trials=STARTUP_TRIALS), DECAY_PATIENCE)
    convex = spec.convex_automated_stopping_spec
    if convex is not None:
        return PercentilePruner(
            CONVEX_PERCENTILE,
            n_startup_trials=int(convex.min_measurement_count or STARTUP_TRIALS),
            n_warmup_steps=int(convex.min_step_count or 0),
        )
    return NopPruner()


def uses_elapsed_duration(spec: StudySpec) -> bool:
    stopping = (
        spec.median_automated_stopping_spec
        or spec.decay_curve_stopping_spec
        or spec.convex_automated_stopping_spec
    )
    return bool(stopping and stopping.use_elapsed_duration)


def new_study(spec: StudySpec, space: SearchSpace) -> Study:
    """An in-memory study: the job's stored trials are the truth, the study is rebuilt from
    them after a restart (see `restore_trial`)."""
    return optuna.create_study(
        direction=direction(spec), sampler=make_sampler(spec, space), pruner=make_pruner(spec)
    )


def restore_trial(
    study: Study,
    space: SearchSpace,
    values: dict[str, Any],
    state: TrialState,
    intermediate: dict[int, float],
    final: float | None = None,
) -> int:
    """Add a stored trial to the study; returns its Optuna trial number."""
    params = space.optuna_params(values)
    system_attrs: dict[str, Any] = {}
    if isinstance(study.sampler, GridSampler):
        # What GridSampler records on the trials it hands out, so it skips this point.
        system_attrs = {"search_space": study.sampler._search_space, "grid_id": params[GRID_PARAM]}
    study.add_trial(
        optuna.trial.create_trial(
            params=params,
            distributions=space.distributions(params),
            value=final if state == TrialState.COMPLETE else None,
            intermediate_values=intermediate,
            state=state,
            system_attrs=system_attrs,
        )
    )
    return len(study.trials) - 1
