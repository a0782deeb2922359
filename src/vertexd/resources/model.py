"""Model (google.cloud.aiplatform.v1.Model) and UploadModelRequest.

Answers carry the message fields Vertex's own samples read, empty where there is nothing
(`EMPTY_FIELDS`): Google's Node sample reads `predictSchemata.instanceSchemaUri` and
indexes `supportedExportFormats` and `deployedModels` without checking for null.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any

from vertexd.resources.common import Timestamp, VertexModel, enum_field


class DeploymentResourcesType(IntEnum):
    DEPLOYMENT_RESOURCES_TYPE_UNSPECIFIED = 0
    DEDICATED_RESOURCES = 1
    AUTOMATIC_RESOURCES = 2
    SHARED_RESOURCES = 3


class Model(VertexModel):
    name: str | None = None
    version_id: str | None = None
    version_aliases: list[str] | None = None
    version_create_time: Timestamp | None = None
    version_update_time: Timestamp | None = None
    display_name: str | None = None
    description: str | None = None
    version_description: str | None = None
    default_checkpoint_id: str | None = None
    predict_schemata: dict[str, Any] | None = None
    metadata_schema_uri: str | None = None
    metadata: Any = None
    supported_export_formats: list[dict[str, Any]] | None = None
    training_pipeline: str | None = None
    pipeline_job: str | None = None
    container_spec: dict[str, Any] | None = None
    artifact_uri: str | None = None
    supported_deployment_resources_types: list[enum_field(DeploymentResourcesType)] | None = None  # type: ignore[valid-type]
    supported_input_storage_formats: list[str] | None = None
    supported_output_storage_formats: list[str] | None = None
    create_time: Timestamp | None = None
    update_time: Timestamp | None = None
    deployed_models: list[dict[str, Any]] | None = None
    explanation_spec: dict[str, Any] | None = None
    etag: str | None = None
    labels: dict[str, str] | None = None
    data_stats: dict[str, Any] | None = None
    encryption_spec: dict[str, Any] | None = None
    model_source_info: dict[str, Any] | None = None
    original_model_info: dict[str, Any] | None = None
    metadata_artifact: str | None = None
    base_model_source: dict[str, Any] | None = None
    satisfies_pzs: bool | None = None
    satisfies_pzi: bool | None = None
    checkpoints: list[dict[str, Any]] | None = None


class UploadModelRequest(VertexModel):
    parent: str | None = None
    parent_model: str | None = None
    model_id: str | None = None
    model: Model | None = None
    service_account: str | None = None


# Set by vertexd, never taken from a request.
OUTPUT_ONLY_FIELDS = (
    "name", "versionId", "versionCreateTime", "versionUpdateTime", "createTime", "updateTime",
    "trainingPipeline", "deployedModels", "etag", "supportedExportFormats",
    "supportedDeploymentResourcesTypes", "supportedInputStorageFormats",
    "supportedOutputStorageFormats", "modelSourceInfo", "originalModelInfo", "metadataArtifact",
    "satisfiesPzs", "satisfiesPzi", "checkpoints",
)  # fmt: skip

EMPTY_FIELDS: dict[str, Any] = {
    "versionAliases": [],
    "description": "",
    "versionDescription": "",
    "predictSchemata": {},
    "metadataSchemaUri": "",
    "supportedExportFormats": [],
    "trainingPipeline": "",
    "containerSpec": {},
    "artifactUri": "",
    "supportedDeploymentResourcesTypes": [],
    "supportedInputStorageFormats": [],
    "supportedOutputStorageFormats": [],
    "deployedModels": [],
    "labels": {},
}

MODEL_ID = re.compile(r"[a-z_][a-z0-9_-]{0,62}")
ALIAS = re.compile(r"[a-z][a-zA-Z0-9-]{0,126}[a-z0-9-]")


def complete(body: dict[str, Any]) -> dict[str, Any]:
    """A stored Model as it is answered: every field samples read, empty if unset."""
    return {**body, **{k: v for k, v in EMPTY_FIELDS.items() if k not in body}}


def split_version(name: str) -> tuple[str, str | None]:
    """`.../models/ID@2` -> (`.../models/ID`, "2"); no `@`: (name, None)."""
    model, at, version = name.partition("@")
    return model, (version if at else None)
