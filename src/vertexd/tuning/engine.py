"""The Optuna side of one tuning job: ask for parameters, report measurements, tell outcomes.

The study lives in memory and is rebuilt from the job's stored `trials[]` when the job is
loaded (at creation and after a server restart): the stored trials are the only truth.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState

from vertexd.resources.tuning_job import GoalType, StudySpec
from vertexd.tuning import optuna_map
from vertexd.tuning.metrics import metric_value, optuna_step
from vertexd.tuning.space import GRID_PARAM, SearchSpace

# How a stored trial is told to Optuna.
PRUNED, FAILED, COMPLETE = TrialState.PRUNED, TrialState.FAIL, TrialState.COMPLETE


class Engine:
    def __init__(self, spec: StudySpec) -> None:
        self.spec = spec
        self.metric = (spec.metrics or [])[0].metric_id or ""
        self.goal = (spec.metrics or [])[0].goal or GoalType.MAXIMIZE
        self.space = SearchSpace(spec)
        self.study = optuna_map.new_study(spec, self.space)
        self.use_elapsed = optuna_map.uses_elapsed_duration(spec)
        self._live: dict[str, optuna.Trial] = {}  # running trials by Vertex trial id

    # -- rebuilding ------------------------------------------------------------------------------
    def restore(self, trial: dict[str, Any], outcome: TrialState | None) -> None:
        """Add a stored trial; `outcome` None means it is still running."""
        values = {p["parameterId"]: p["value"] for p in trial.get("parameters", [])}
        intermediate = self._intermediate(trial.get("measurements", []))
        if outcome is None:
            live = optuna_map.resume_trial(self.study, self.space, values, intermediate)
            self._live[trial["id"]] = live
            return
        final = metric_value(trial.get("finalMeasurement") or {}, self.metric)
        optuna_map.restore_trial(self.study, self.space, values, outcome, intermediate, final)

    # -- the search ------------------------------------------------------------------------------
    def capacity(self) -> int:
        """How many different trials the search can propose: the grid's size for GRID_SEARCH
        (each trial is a point nobody has taken yet), else no limit."""
        return len(self.space.grid) if self.space.grid is not None else 2**31

    def ask(self, trial_id: str) -> dict[str, Any]:
        if self.space.grid is not None:  # each grid trial: the first point nobody has taken
            taken = {t.params.get(GRID_PARAM) for t in self.study.trials}
            point = next(i for i in range(len(self.space.grid)) if i not in taken)
            self.study.enqueue_trial({GRID_PARAM: point})
        trial = self.study.ask()
        self._live[trial_id] = trial
        return self.space.suggest(trial)

    def report(self, trial_id: str, measurements: list[dict[str, Any]]) -> bool:
        """Report measurements not yet reported; True when the pruner says stop the trial."""
        trial = self._live.get(trial_id)
        if trial is None:
            return False
        known = self.study.trials[trial.number].intermediate_values
        new = False
        for step, value in self._intermediate(measurements).items():
            if step not in known:
                trial.report(value, step)
                new = True
        return new and bool(trial.should_prune())

    def tell(self, trial_id: str, state: TrialState, value: float | None = None) -> None:
        trial = self._live.pop(trial_id, None)
        if trial is not None:
            self.study.tell(trial, value if state == COMPLETE else None, state=state)

    def _intermediate(self, measurements: list[dict[str, Any]]) -> dict[int, float]:
        """Measurements of the first metric as Optuna's {step: value}."""
        found: dict[int, float] = {}
        with_metric = [m for m in measurements if metric_value(m, self.metric) is not None]
        for position, measurement in enumerate(with_metric, start=1):
            value = metric_value(measurement, self.metric)
            assert value is not None
            found.setdefault(optuna_step(measurement, position, self.use_elapsed), value)
        return found
