"""Vertex StudySpec settings -> Optuna samplers, pruners and study direction.

| Vertex                              | Optuna                                                  |
| ----------------------------------- | ------------------------------------------------------- |
| algorithm unspecified (Bayesian)    | GPSampler (torch installed, no conditional parameters), |
|                                     | else TPESampler(multivariate, group, constant_liar)     |
| GRID_SEARCH                         | the next untaken grid point, enqueued as fixed params   |
| RANDOM_SEARCH                       | RandomSampler                                           |
| medianAutomatedStoppingSpec         | MedianPruner                                            |
| decayCurveStoppingSpec              | PatientPruner(MedianPruner, patience=2)                 |
| convexAutomatedStoppingSpec         | PercentilePruner(75) (minStepCount, minMeasurementCount) |

The README explains each choice. Only the first metric drives the search.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any, Literal

import optuna
from optuna.pruners import (
    BasePruner,
    MedianPruner,
    NopPruner,
    PatientPruner,
    PercentilePruner,
)
from optuna.samplers import BaseSampler, GPSampler, RandomSampler, TPESampler
from optuna.study import Study
from optuna.trial import TrialState

from vertexd.resources.tuning_job import Algorithm, GoalType, StudySpec
from vertexd.tuning.space import SearchSpace

# Completed trials needed before a pruner may stop another trial (Optuna's own default).
STARTUP_TRIALS = 5
# The decay-curve rule waits for a trial's curve to flatten for this many measurements.
DECAY_PATIENCE = 2
# The convex rule stops only trials in the bottom quarter at their step.
CONVEX_PERCENTILE = 75.0

optuna.logging.set_verbosity(optuna.logging.WARNING)


def direction(spec: StudySpec) -> Literal["minimize", "maximize"]:
    goal = (spec.metrics or [])[0].goal
    return "minimize" if goal == GoalType.MINIMIZE else "maximize"


def make_sampler(spec: StudySpec, space: SearchSpace) -> BaseSampler:
    if spec.algorithm == Algorithm.RANDOM_SEARCH:
        return RandomSampler()
    if spec.algorithm == Algorithm.GRID_SEARCH:
        return RandomSampler()  # never asked: every grid trial comes enqueued (engine.ask)
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


def describe_sampler(sampler: BaseSampler, space: SearchSpace) -> str:
    if space.grid is not None:
        return f"grid search over {len(space.grid)} points, each trial the next untaken one"
    kinds = {
        GPSampler: "Bayesian optimization with a Gaussian process (Optuna GPSampler)",
        TPESampler: "Bayesian optimization with TPE (Optuna TPESampler)",
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
) -> None:
    """Add a finished stored trial to the study."""
    params = space.optuna_params(values)
    study.add_trial(
        optuna.trial.create_trial(
            params=params,
            distributions=space.distributions(params),
            value=final if state == TrialState.COMPLETE else None,
            intermediate_values=intermediate,
            state=state,
        )
    )


def resume_trial(
    study: Study, space: SearchSpace, values: dict[str, Any], intermediate: dict[int, float]
) -> optuna.Trial:
    """A stored trial that still runs, as a live trial of the study (enqueued with its own
    parameters, then asked for), with what it has reported so far."""
    study.enqueue_trial(space.optuna_params(values))
    trial = study.ask()
    space.suggest(trial)
    for step, value in sorted(intermediate.items()):
        trial.report(value, step)
    return trial
