"""TrainingPipeline create/get/list/cancel/delete. A pipeline runs by creating a backing
CustomJob (custom task) or HyperparameterTuningJob (tuning task) and following it."""

from __future__ import annotations

from typing import Any, Protocol

from vertexd.core import states
from vertexd.core.errors import FailedPrecondition, InvalidArgument, NotFound
from vertexd.resources.common import format_time, now
from vertexd.resources.custom_job import CustomJobSpec
from vertexd.resources.custom_job_rules import validate_job_spec
from vertexd.resources.metadata_rules import MAX_DISPLAY_NAME, validate_metadata
from vertexd.resources.parsing import parse_model
from vertexd.resources.training_pipeline import (
    CUSTOM_TASK,
    OUTPUT_ONLY_FIELDS,
    TASK_DEFINITIONS,
    TUNING_TASK,
    TrainingPipeline,
    camel_keys,
)
from vertexd.resources.v1_fields import read_request
from vertexd.service.custom_jobs import CustomJobService, new_job_id
from vertexd.service.models import ModelService
from vertexd.service.operations import OperationService
from vertexd.service.pipeline_follower import PIPELINES
from vertexd.store.jobs import JobStore, Record
from vertexd.store.listing import ListQuery
from vertexd.tuning.trials import best_trial

TASK_INPUTS_PATH = "training_pipeline.training_task_inputs"


class TuningJobs(Protocol):
    """What a tuning-task pipeline needs of the HyperparameterTuningJob service."""

    def create(self, parent: str, request: Any) -> dict[str, Any]: ...

    def cancel(self, name: str) -> None: ...


class PipelineTracker(Protocol):
    """Who moves pipelines with their backing jobs (the follower in the engine process)."""

    def track(self, pipeline: str, backing: str) -> None: ...


class TrainingPipelineService:
    def __init__(
        self,
        store: JobStore,
        custom_jobs: CustomJobService,
        follower: PipelineTracker,
        models: ModelService,
        operations: OperationService,
        tuning_jobs: TuningJobs,
    ) -> None:
        self.store, self.custom_jobs, self.tuning_jobs = store, custom_jobs, tuning_jobs
        self.follower, self.models, self.operations = follower, models, operations

    def create(self, parent: str, request: Any) -> dict[str, Any]:
        body = read_request(request, "TrainingPipeline", "training_pipeline")
        pipeline = parse_model(TrainingPipeline, body)
        inputs = self._validate(pipeline)
        if pipeline.model_to_upload and (pipeline.model_id or pipeline.parent_model):
            # Said now rather than when the job is done: a taken id, a parent that is not there.
            self.models.target(parent, pipeline.model_id or None, pipeline.parent_model or None)
        backing = self._create_backing_job(parent, pipeline, inputs)
        stamp = format_time(now())
        body = pipeline.model_copy(update=dict.fromkeys(OUTPUT_ONLY_FIELDS)).to_wire()
        body.update(
            name=f"{parent}/trainingPipelines/{new_job_id()}",
            state="PIPELINE_STATE_QUEUED",
            trainingTaskMetadata={"backingCustomJob": backing}
            if pipeline.training_task_definition == CUSTOM_TASK
            else {"backingHyperparameterTuningJob": backing},
            createTime=stamp,
            updateTime=stamp,
        )
        record = self.store.insert(PIPELINES, parent, body)
        self.follower.track(record.name, backing)
        return self.store.get(record.name).body

    def _validate(self, pipeline: TrainingPipeline) -> dict[str, Any]:
        if not pipeline.display_name:
            raise InvalidArgument("is required.", "display_name")
        validate_metadata(pipeline.display_name, pipeline.labels)
        if pipeline.training_task_definition not in TASK_DEFINITIONS:
            raise InvalidArgument(
                f"Unsupported training task definition {pipeline.training_task_definition!r}; "
                f"vertexd runs {CUSTOM_TASK} and {TUNING_TASK}.",
                "training_task_definition",
            )
        if pipeline.input_data_config:
            raise InvalidArgument(
                "Managed datasets are not supported by vertexd: leave input_data_config out "
                "and read your data from storage (gs://, file://) in the training code.",
                "input_data_config",
            )
        if not isinstance(pipeline.training_task_inputs, dict):
            raise InvalidArgument("must be a JSON object.", "training_task_inputs")
        # A free Value in the v1 message, read here as the message the task's schema describes.
        custom = pipeline.training_task_definition == CUSTOM_TASK
        message = "CustomJobSpec" if custom else "HyperparameterTuningJob"
        inputs = read_request(pipeline.training_task_inputs, message, TASK_INPUTS_PATH)
        if custom:
            spec = parse_model(CustomJobSpec, inputs, "training_task_inputs")
            validate_job_spec(spec, "training_task_inputs")
        return inputs

    def _create_backing_job(
        self, parent: str, pipeline: TrainingPipeline, inputs: dict[str, Any]
    ) -> str:
        labels = pipeline.labels or {}
        if pipeline.training_task_definition == TUNING_TASK:
            display_name = f"{pipeline.display_name}-hpt-job"[-MAX_DISPLAY_NAME:]
            tuning = {**inputs, "displayName": display_name, "labels": labels}
            try:
                return str(self.tuning_jobs.create(parent, tuning)["name"])
            except InvalidArgument as exc:  # name the field as the pipeline's client sent it
                raise exc.under("training_task_inputs") from None
        display_name = f"{pipeline.display_name}-custom-job"[-MAX_DISPLAY_NAME:]
        job = {"displayName": display_name, "jobSpec": inputs, "labels": labels}
        try:
            return str(self.custom_jobs.create(parent, job)["name"])
        except InvalidArgument as exc:
            raise exc.rerooted("job_spec", "training_task_inputs") from None

    def get(self, name: str) -> Record:
        record = self.store.get(name)
        if record.kind != PIPELINES:
            raise NotFound(f'The TrainingPipeline "{name}" was not found.')
        return record

    def list(self, parent: str, query: ListQuery) -> tuple[list[dict[str, Any]], str]:
        bodies, more = self.store.list_page(PIPELINES, parent, query)
        return bodies, (query.next_page_token() if more else "")

    def cancel(self, name: str) -> None:
        record = self.get(name)
        if states.is_terminal(record.state):
            raise FailedPrecondition(
                f"Cannot cancel TrainingPipeline {name}: it is already in state {record.state}."
            )
        metadata = record.body.get("trainingTaskMetadata") or {}
        if "backingCustomJob" in metadata:
            self.custom_jobs.cancel(metadata["backingCustomJob"])
        else:
            self.tuning_jobs.cancel(metadata["backingHyperparameterTuningJob"])

    def delete(self, name: str) -> dict[str, Any]:
        record = self.get(name)
        if not states.is_terminal(record.state):
            raise FailedPrecondition(
                f"TrainingPipeline {name} is in state {record.state}; cancel it before deleting it."
            )
        self.store.delete(name)
        return self.operations.finished_delete(name)


def model_artifact_uri(pipeline: dict[str, Any], backing: Record) -> str | None:
    """Where the trained model is: `<base>/model`, or the best trial's `<base>/<trial>/model`."""
    inputs = camel_keys(pipeline.get("trainingTaskInputs") or {})
    if pipeline.get("trainingTaskDefinition") == TUNING_TASK:
        inputs = inputs.get("trialJobSpec") or {}
    base = (inputs.get("baseOutputDirectory") or {}).get("outputUriPrefix")
    if not base:
        return None
    trial = best_trial(backing.body)
    return base.rstrip("/") + (f"/{trial['id']}" if trial else "") + "/model"
