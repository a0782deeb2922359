"""Models: created by training pipelines that succeed; get (also `ID@version`), list, delete."""

from __future__ import annotations

from typing import Any

from vertexd.core.errors import NotFound
from vertexd.resources.common import format_time, now
from vertexd.service.custom_jobs import new_job_id
from vertexd.service.operations import OperationService
from vertexd.store.jobs import JobStore
from vertexd.store.listing import ListQuery

MODELS = "models"


class ModelService:
    def __init__(self, store: JobStore, operations: OperationService) -> None:
        self.store, self.operations = store, operations

    def upload(
        self, parent: str, to_upload: dict[str, Any], artifact_uri: str, pipeline: str
    ) -> dict[str, Any]:
        """The Model a pipeline's `modelToUpload` describes, stored as version 1."""
        stamp = format_time(now())
        body = {
            key: value
            for key, value in to_upload.items()
            if key not in ("name", "versionId", "createTime", "updateTime")
        }
        body.update(
            name=f"{parent}/models/{new_job_id()}",
            versionId="1",
            versionAliases=["default"],
            artifactUri=artifact_uri,
            trainingPipeline=pipeline,
            createTime=stamp,
            updateTime=stamp,
            versionCreateTime=stamp,
            versionUpdateTime=stamp,
        )
        body.setdefault("displayName", pipeline.rsplit("/", 1)[-1])
        return self.store.insert(MODELS, parent, body).body

    def get(self, name: str) -> dict[str, Any]:
        record = self.store.get(name.split("@", 1)[0])  # "ID@1" and "ID@default": one version
        if record.kind != MODELS:
            raise NotFound(f'The Model "{name}" was not found.')
        return record.body

    def list(self, parent: str, query: ListQuery) -> tuple[list[dict[str, Any]], str]:
        records, more = self.store.list_page(MODELS, parent, query)
        return [r.body for r in records], (query.next_page_token() if more else "")

    def delete(self, name: str) -> dict[str, Any]:
        body = self.get(name)
        self.store.delete(body["name"])
        return self.operations.finished_delete(body["name"])
