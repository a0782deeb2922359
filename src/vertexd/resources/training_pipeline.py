"""TrainingPipeline (google.cloud.aiplatform.v1.TrainingPipeline) and its task inputs."""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any

from vertexd.resources.common import Status, Timestamp, VertexModel, enum_field
from vertexd.resources.model import Model

SCHEMA_ROOT = "gs://google-cloud-aiplatform/schema/trainingjob/definition/"
CUSTOM_TASK = SCHEMA_ROOT + "custom_task_1.0.0.yaml"
TUNING_TASK = SCHEMA_ROOT + "hyperparameter_tuning_task_1.0.0.yaml"
TASK_DEFINITIONS = (CUSTOM_TASK, TUNING_TASK)


class PipelineState(IntEnum):
    PIPELINE_STATE_UNSPECIFIED = 0
    PIPELINE_STATE_QUEUED = 1
    PIPELINE_STATE_PENDING = 2
    PIPELINE_STATE_RUNNING = 3
    PIPELINE_STATE_SUCCEEDED = 4
    PIPELINE_STATE_FAILED = 5
    PIPELINE_STATE_CANCELLING = 6
    PIPELINE_STATE_CANCELLED = 7
    PIPELINE_STATE_PAUSED = 8


class TrainingPipeline(VertexModel):
    name: str | None = None
    display_name: str | None = None
    input_data_config: dict[str, Any] | None = None
    training_task_definition: str | None = None
    # A free google.protobuf.Value: kept as sent, then read through `task_inputs()`.
    training_task_inputs: Any = None
    training_task_metadata: dict[str, Any] | None = None
    model_to_upload: Model | None = None
    model_id: str | None = None
    parent_model: str | None = None
    state: enum_field(PipelineState) | None = None  # type: ignore[valid-type]
    error: Status | None = None
    create_time: Timestamp | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    update_time: Timestamp | None = None
    labels: dict[str, str] | None = None
    encryption_spec: dict[str, Any] | None = None


OUTPUT_ONLY_FIELDS = (
    "name", "state", "error", "create_time", "start_time", "end_time", "update_time",
    "training_task_metadata",
)  # fmt: skip


def camel_keys(value: Any) -> Any:
    """trainingTaskInputs as the Python SDK sends it (snake_case keys) in camelCase.

    Only keys change; values (args, env values, parameter ids) are left as they are.
    """
    if isinstance(value, dict):
        return {_camel(str(key)): camel_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel_keys(item) for item in value]
    return value


def _camel(key: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)
