"""One tuning job while it runs: starts trials, collects their metrics, stops the hopeless,
records how each trial ended, and ends the job. The controller drives it; nothing else
writes the job's state or its `trials[]`.

Bookkeeping that is not part of the resource lives in the record's `progress`:
`reported` (trial id -> timestamp of the last hypertune report read), `failed` and `stopped`
(trial ids whose CustomJob failed / that were stopped early) and `ending` (the error the job
ends with once its running trials have stopped).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from vertexd.core import joblog, states
from vertexd.core.codes import Code
from vertexd.core.errors import ApiError
from vertexd.resources.tuning_job import HyperparameterTuningJob
from vertexd.store.jobs import JobStore
from vertexd.store.records import Record, TrialLink
from vertexd.tuning import trials as T
from vertexd.tuning.engine import COMPLETE, FAILED, PRUNED, Engine
from vertexd.tuning.metrics import add_reports, metrics_file, read_reports, select_final
from vertexd.tuning.optuna_map import describe_sampler
from vertexd.tuning.trial_jobs import TrialJobs
from vertexd.tuning.trials import TrialState, trial_args

log = logging.getLogger(__name__)

# The error code of a trial's CustomJob that the server's shutdown stopped: run it again.
SHUT_DOWN = Code.UNAVAILABLE


@dataclass(frozen=True)
class Deps:
    """What a run needs from the rest of the service."""

    store: JobStore
    jobs_dir: Path
    jobs: TrialJobs  # runs each trial as a CustomJob
    new_id: Callable[[], str]


class TuningRun:
    def __init__(self, record: Record, deps: Deps) -> None:
        self.name, self.parent, self.job_id = record.name, record.parent, record.id
        self.deps, self.store = deps, deps.store
        self.job = HyperparameterTuningJob.model_validate(record.body)
        assert self.job.study_spec is not None
        self.spec = self.job.study_spec
        self.metric_ids = [m.metric_id or "" for m in self.spec.metrics or []]
        self.progress: dict[str, Any] = {"reported": {}, "failed": [], "stopped": []}
        self.progress.update(record.progress or {})
        self.engine = Engine(self.spec)
        self.done = False
        for trial in record.body.get("trials", []):
            self.engine.restore(trial, self._stored_outcome(trial))

    def _stored_outcome(self, trial: dict[str, Any]) -> Any:
        if trial["state"] in T.RUNNING_STATES:
            return None
        if trial["state"] == TrialState.SUCCEEDED:
            return PRUNED if trial["id"] in self.progress["stopped"] else COMPLETE
        return FAILED

    # -- driven by the controller --------------------------------------------------------------
    def step(self) -> None:
        """Collect metrics, handle trials that ended, start new ones, end the job if done."""
        record = self.store.get(self.name)
        if states.is_terminal(record.state):
            self.done = True
            return
        for trial in T.running(record.body):
            self._watch(trial)
        self._advance()

    def cancel(self) -> None:
        record = self.store.get(self.name)
        if states.short(record.state) == states.QUEUED:
            self.store.mark_cancelled(self.name)
            self.done = True
            return
        self.store.mark_cancelling(self.name)
        self.service_log("Cancel requested: stopping every running trial.")
        self._advance()

    # -- trials ----------------------------------------------------------------------------------
    def _advance(self) -> None:
        record = self.store.get(self.name)
        if states.is_terminal(record.state):
            self.done = True
            return
        running = T.running(record.body)
        if states.short(record.state) == states.CANCELLING or "ending" in self.progress:
            for trial in running:
                if trial["state"] == TrialState.ACTIVE:
                    self._stop(trial, "the tuning job is ending")
            if not running:
                self._end_stopped(record)
            return
        started = len(record.body.get("trials", []))
        room = (self.job.parallel_trial_count or 1) - len(running)
        allowed = min(self.job.max_trial_count or 1, self.engine.capacity())
        for number in range(started + 1, min(allowed, started + room) + 1):
            if "ending" in self.progress:
                break
            self._launch(str(number))
        if not running and started >= allowed:
            self._complete()

    def _launch(self, trial_id: str) -> None:
        record = self.store.get(self.name)
        if states.short(record.state) == states.QUEUED:
            self.store.mark_pending(self.name)
        if states.short(self.store.get(self.name).state) == states.PENDING:
            self.store.mark_running(self.name)
        if trial_id == "1":
            self.service_log(
                f"Search: {describe_sampler(self.engine.study.sampler, self.engine.space)}."
            )
        values = self.engine.ask(trial_id)
        job_name = f"{self.parent}/customJobs/{self.deps.new_id()}"
        self._update(
            lambda body: body.setdefault("trials", []).append(
                T.new_trial(trial_id, values, job_name)
            )
        )
        self._create_job(trial_id, values, job_name)

    def _create_job(self, trial_id: str, values: dict[str, Any], job_name: str) -> None:
        body = self.store.get(self.name).body
        custom_job = T.trial_custom_job(self.job, body, trial_id, values)
        link = TrialLink(trial_id, self.name)
        try:
            self.deps.jobs.start(self.parent, T.job_id_of(job_name), custom_job, link)
        except ApiError as exc:
            self.service_log(f"Trial {trial_id} could not start: {exc.message}")
            reason = f"The trial could not start: {exc.message}"
            self._record_end(trial_id, TrialState.INFEASIBLE, None, reason, FAILED, failed=True)
            return
        args = " ".join(trial_args(values))
        self.service_log(f"Trial {trial_id} started as CustomJob {T.job_id_of(job_name)}: {args}")

    def _watch(self, trial: dict[str, Any]) -> None:
        job = self.store.find(trial["customJob"])
        if job is None:  # the server stopped between recording the trial and queueing its job
            self._create_job(trial["id"], T.parameter_values(trial), trial["customJob"])
            return
        self._collect(trial, job)
        if states.is_terminal(job.state):
            self._job_ended(trial["id"], job)

    def _collect(self, trial: dict[str, Any], job: Record) -> None:
        """New hypertune reports -> measurements; Optuna's pruner may stop the trial."""
        trial_id = trial["id"]
        after = float(self.progress["reported"].get(trial_id, 0.0))
        reports = read_reports(metrics_file(self.deps.jobs_dir, job.id), self.metric_ids, after)
        if not reports:
            return
        start = datetime.fromisoformat(trial["startTime"].replace("Z", "+00:00")).timestamp()
        body = self._update(
            lambda b: add_reports(
                T.find(b, trial_id).setdefault("measurements", []), reports, start
            )
        )
        self.progress["reported"][trial_id] = reports[-1].timestamp
        self._save_progress()
        measurements = T.find(body, trial_id)["measurements"]
        if self.engine.report(trial_id, measurements) and trial["state"] == TrialState.ACTIVE:
            if not states.is_terminal(job.state):
                self._stop(T.find(body, trial_id), "the automated stopping rule stopped it early")
                self.progress["stopped"].append(trial_id)
                self._save_progress()

    def _stop(self, trial: dict[str, Any], why: str) -> None:
        trial_id = trial["id"]
        self._update(lambda body: T.stop(T.find(body, trial_id)))
        self.service_log(f"Trial {trial_id}: stopping, {why}.")
        self.deps.jobs.stop(trial["customJob"])

    def _job_ended(self, trial_id: str, job: Record) -> None:
        trial = T.find(self.store.get(self.name).body, trial_id)
        error = job.body.get("error") or {}
        end = states.short(job.state)
        if end == states.FAILED and error.get("code") == SHUT_DOWN:
            if trial["state"] == TrialState.ACTIVE:
                self._rerun(trial)  # the server shut down under it: not the trial's fault
                return
        final = select_final(
            trial.get("measurements", []),
            self.metric_ids[0],
            self.engine.goal,
            self.spec.measurement_selection_type,
        )
        metric = self.metric_ids[0]
        if end == states.SUCCEEDED:
            reason = f'The trial succeeded without reporting the metric "{metric}".'
            ended = TrialState.SUCCEEDED if final else TrialState.INFEASIBLE
            self._record_end(trial_id, ended, final, reason, COMPLETE if final else FAILED)
        elif end == states.CANCELLED or trial["state"] == TrialState.STOPPING:
            reason = f'The trial was stopped before it reported the metric "{metric}".'
            ended = TrialState.SUCCEEDED if final else TrialState.INFEASIBLE
            self._record_end(trial_id, ended, final, reason, PRUNED if final else FAILED)
        else:
            message = str(error.get("message") or "it failed").split("\n", 1)[0]
            reason = f"The trial's CustomJob {job.id} failed: {message}"
            self._record_end(trial_id, TrialState.INFEASIBLE, None, reason, FAILED, failed=True)

    def _record_end(
        self,
        trial_id: str,
        state: TrialState,
        final: dict[str, Any] | None,
        reason: str,
        outcome: Any,
        failed: bool = False,
    ) -> None:
        self._update(
            lambda body: T.finish(T.find(body, trial_id), state, final, None if final else reason)
        )
        value = None
        if final is not None:
            value = next(
                m["value"] for m in final["metrics"] if m["metricId"] == self.metric_ids[0]
            )
        self.engine.tell(trial_id, outcome, value)
        shown = f"{self.metric_ids[0]}={value:g}" if value is not None else reason
        self.service_log(f"Trial {trial_id} ended {state}: {shown}")
        if failed:
            self.progress["failed"].append(trial_id)
            self._check_failures(trial_id, reason)
        self._save_progress()

    def _check_failures(self, trial_id: str, reason: str) -> None:
        limit = T.failure_limit(self.job)
        count = len(self.progress["failed"])
        if count < limit or "ending" in self.progress:
            return
        given = self.job.max_failed_trial_count or 0
        which = (
            f"max_failed_trial_count: {given}"
            if given
            else "max_failed_trial_count 0: "
            f"vertexd allows {limit} of {self.job.max_trial_count} trials to fail"
        )
        message = (
            f"{count} trials failed ({which}); the HyperparameterTuningJob failed. "
            f"Last failure, trial {trial_id}: {reason}"
        )
        self.progress["ending"] = {"code": Code.INVALID_ARGUMENT, "message": message}
        self.service_log(message)

    def _rerun(self, trial: dict[str, Any]) -> None:
        job_name = f"{self.parent}/customJobs/{self.deps.new_id()}"
        trial_id = trial["id"]

        def restart(body: dict[str, Any]) -> None:
            T.find(body, trial_id).update(customJob=job_name)
            T.find(body, trial_id).pop("measurements", None)  # the rerun reports afresh

        self._update(restart)
        self.service_log(
            f"Trial {trial_id} was interrupted by a server shutdown; running it again."
        )
        self._create_job(trial_id, T.parameter_values(trial), job_name)

    # -- ending the job -----------------------------------------------------------------------
    def _end_stopped(self, record: Record) -> None:
        if states.short(record.state) == states.CANCELLING:
            self.store.mark_cancelled(self.name)
            self.service_log("HyperparameterTuningJob cancelled.")
        else:
            ending = self.progress["ending"]
            self.store.mark_failed(self.name, int(ending["code"]), str(ending["message"]))
        self.done = True

    def _complete(self) -> None:
        body = self.store.get(self.name).body
        done = body.get("trials", [])
        metric = self.metric_ids[0]
        best = T.best_trial(body)
        if best:
            self.store.mark_succeeded(self.name)
            self.service_log(f"HyperparameterTuningJob succeeded; best trial: {best['id']}.")
        else:
            message = (
                f"None of the {len(done)} trials succeeded with a final measurement of the "
                f'metric "{metric}" (report it with cloudml-hypertune, see the trials\' '
                "infeasibleReason)."
            )
            self.store.mark_failed(self.name, Code.INVALID_ARGUMENT, message)
            self.service_log(message)
        self.done = True

    # -- store -------------------------------------------------------------------------------------
    def _update(self, change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
        return self.store.update_body(self.name, change).body

    def _save_progress(self) -> None:
        self.store.set_progress(self.name, self.progress)

    def service_log(self, text: str) -> None:
        joblog.append_service_line(joblog.job_log_path(self.deps.jobs_dir, self.job_id), text)
