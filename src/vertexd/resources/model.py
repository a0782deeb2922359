"""Model (google.cloud.aiplatform.v1.Model): what a training pipeline uploads."""

from __future__ import annotations

from typing import Any

from vertexd.resources.common import Timestamp, VertexModel


class Model(VertexModel):
    name: str | None = None
    version_id: str | None = None
    version_aliases: list[str] | None = None
    version_create_time: Timestamp | None = None
    version_update_time: Timestamp | None = None
    display_name: str | None = None
    description: str | None = None
    version_description: str | None = None
    predict_schemata: dict[str, Any] | None = None
    metadata_schema_uri: str | None = None
    metadata: Any = None
    training_pipeline: str | None = None
    container_spec: dict[str, Any] | None = None
    artifact_uri: str | None = None
    supported_deployment_resources_types: list[Any] | None = None
    create_time: Timestamp | None = None
    update_time: Timestamp | None = None
    etag: str | None = None
    labels: dict[str, str] | None = None
