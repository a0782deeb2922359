"""A training pipeline follows its backing job: the one writer of every pipeline's state.

It watches state changes in the store; when the backing job moves, the pipeline moves to the
same state (through the states in between), and before SUCCEEDED it uploads the Model.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from vertexd.core import states
from vertexd.core.codes import Code
from vertexd.core.errors import ApiError
from vertexd.service.models import ModelService
from vertexd.store.jobs import JobStore, Record

log = logging.getLogger(__name__)

PIPELINES = "trainingPipelines"

# The artifact URI of a finished backing job's model: a pipeline -> its backing record -> uri.
ArtifactLocator = Callable[[dict[str, Any], Record], str | None]


def path_between(current: str, target: str) -> list[str]:
    """The shortest list of allowed moves from `current` to `target` (short state names)."""
    queue: deque[list[str]] = deque([[current]])
    while queue:
        route = queue.popleft()
        if route[-1] == target:
            return route[1:]
        for step in sorted(states.ALLOWED.get(route[-1], frozenset())):
            if step not in route and (step == target or step not in states.TERMINAL):
                queue.append([*route, step])
    return []


def backing_job(pipeline: dict[str, Any]) -> str | None:
    """The name of the job a pipeline created: a CustomJob, or a HyperparameterTuningJob."""
    metadata = pipeline.get("trainingTaskMetadata") or {}
    return metadata.get("backingCustomJob") or metadata.get("backingHyperparameterTuningJob")


class PipelineFollower:
    def __init__(self, store: JobStore, models: ModelService, locate: ArtifactLocator) -> None:
        self.store, self.models, self.locate = store, models, locate
        self._pipeline_of: dict[str, str] = {}  # backing job name -> pipeline name
        # State changes arrive from any thread; a pipeline follows one of them at a time.
        self._following = threading.Lock()

    def start(self) -> None:
        """Watch the store; catch up with backing jobs that moved while no server ran."""
        self.store.observe(self._on_state_change)
        active = [states.QUEUED, states.PENDING, states.RUNNING, states.CANCELLING]
        for pipeline in self.store.in_states(active, PIPELINES):
            backing = backing_job(pipeline.body)
            if backing:
                self.track(pipeline.name, backing)

    def track(self, pipeline: str, backing: str) -> None:
        self._pipeline_of[backing] = pipeline
        with self._following:
            found = self.store.find(backing)
            if found is None:
                message = f"Its backing job {backing} is gone."
                self.store.mark_failed(pipeline, Code.INTERNAL, message)
            else:
                self._follow(pipeline, found)

    def _on_state_change(self, record: Record) -> None:
        pipeline = self._pipeline_of.get(record.name)
        if pipeline is not None:
            try:
                with self._following:
                    self._follow(pipeline, self.store.get(record.name))
            except Exception as exc:
                log.exception("pipeline %s could not follow %s", pipeline, record.name)
                self.store.mark_failed(pipeline, Code.INTERNAL, f"Internal error: {exc}")

    def _follow(self, pipeline: str, backing: Record) -> None:
        target = states.short(backing.state)
        current = self.store.get(pipeline)
        if (
            states.is_terminal(current.state)
            or target not in states.ALLOWED.keys() | states.TERMINAL
        ):
            return
        if target == states.SUCCEEDED and not self._upload_model(current, backing):
            self._pipeline_of.pop(backing.name, None)
            return
        for step in path_between(states.short(current.state), target):
            self._move(pipeline, step, backing)
        if states.is_terminal(backing.state):
            self._pipeline_of.pop(backing.name, None)

    def _move(self, pipeline: str, step: str, backing: Record) -> None:
        if step == states.FAILED:
            error = backing.body.get("error") or {}
            self.store.mark_failed(
                pipeline, error.get("code", Code.INTERNAL), error.get("message", "")
            )
        else:
            mover = {
                states.QUEUED: self.store.requeue,
                states.PENDING: self.store.mark_pending,
                states.RUNNING: self.store.mark_running,
                states.SUCCEEDED: self.store.mark_succeeded,
                states.CANCELLING: self.store.mark_cancelling,
                states.CANCELLED: self.store.mark_cancelled,
            }[step]
            mover(pipeline)

    def _upload_model(self, pipeline: Record, backing: Record) -> bool:
        """Upload the pipeline's Model (if it names one); False when that failed, and the
        pipeline with it (the Model's id is taken, its parent model is gone...)."""
        to_upload = pipeline.body.get("modelToUpload")
        if not to_upload or to_upload.get("name"):
            return True
        artifact_uri = to_upload.get("artifactUri") or self.locate(pipeline.body, backing)
        wanted = {"displayName": pipeline.id, **to_upload, "artifactUri": artifact_uri or ""}
        try:
            model = self.models.upload_trained(pipeline.parent, wanted, pipeline.body)
        except ApiError as exc:
            self.store.mark_failed(pipeline.name, exc.code, f"Model upload: {exc.message}")
            return False

        def name_the_model(body: dict[str, Any]) -> None:
            version = model["versionId"]
            body["modelToUpload"] = {**to_upload, "name": model["name"], "versionId": version}
            body["modelId"] = model["name"].rsplit("/", 1)[-1]

        self.store.update_body(pipeline.name, name_the_model)
        return True
