"""Models (ModelService): upload (a new Model, or a new version of one), get (`ID`,
`ID@VERSION`, `ID@ALIAS`), list, list versions, merge version aliases, delete a Model or
one version. Training pipelines upload their Models through `upload_trained`."""

from __future__ import annotations

from typing import Any

from vertexd.core.errors import AlreadyExists, InvalidArgument, NotFound
from vertexd.resources.common import format_time, new_job_id, now
from vertexd.resources.model import MODEL_ID, UploadModelRequest, complete, split_version
from vertexd.resources.parsing import parse_model
from vertexd.resources.v1_fields import read_request
from vertexd.service.model_versions import (
    add_version,
    check_aliases,
    merge_aliases,
    remove_version,
    version_body,
)
from vertexd.service.operations import OperationService
from vertexd.store.jobs import JobStore
from vertexd.store.listing import ListQuery
from vertexd.store.models import MODELS, ModelStore, Versions, model_not_found

V1 = "type.googleapis.com/google.cloud.aiplatform.v1."
UPLOAD_METADATA = V1 + "UploadModelOperationMetadata"
UPLOAD_RESPONSE = V1 + "UploadModelResponse"
DELETE_VERSION_METADATA = V1 + "DeleteOperationMetadata"


class ModelService:
    def __init__(self, store: JobStore, models: ModelStore, operations: OperationService) -> None:
        self.store, self.models, self.operations = store, models, operations

    # -- upload -------------------------------------------------------------------------------
    def upload(self, parent: str, request: Any) -> dict[str, Any]:
        """UploadModel: a done Operation whose response names the model and its new version."""
        if isinstance(request, dict) and isinstance(request.get("model"), dict):
            request = {**request, "model": read_request(request["model"], "Model", "model")}
        upload = parse_model(UploadModelRequest, request)
        if upload.model is None:
            raise InvalidArgument("is required.", "model")
        if not upload.model.display_name:
            raise InvalidArgument("is required.", "model.display_name")
        body = self.add(
            parent, upload.model.to_wire(), upload.model_id or None, upload.parent_model or None
        )
        response = {"@type": UPLOAD_RESPONSE, "model": body["name"]}
        response["modelVersionId"] = body["versionId"]
        return self.operations.finished(body["name"], UPLOAD_METADATA, response)

    def add(
        self,
        parent: str,
        wanted: dict[str, Any],
        model_id: str | None,
        parent_model: str | None,
        pipeline: str = "",
    ) -> dict[str, Any]:
        """A new Model (id `model_id`, or a new one), or a new version of `parent_model`;
        `pipeline`: the TrainingPipeline that trained it."""
        check_aliases(list(wanted.get("versionAliases") or []), "model.version_aliases")
        name, new_version = self.target(parent, model_id, parent_model)
        if new_version:
            return self._new_version(name, wanted, pipeline)
        return self._new_model(parent, name, wanted, pipeline)

    def target(
        self, parent: str, model_id: str | None, parent_model: str | None, new_id: str = ""
    ) -> tuple[str, bool]:
        """The Model an upload goes to, and whether it is a new version of it (that model
        exists; a new model's id is free). `new_id`: the id when `model_id` is not given."""
        if parent_model:
            model, version = split_version(parent_model)
            model_of = model.rsplit("/", 1)[-1]
            if version is not None or not model.startswith(parent + "/models/"):
                raise InvalidArgument(
                    f"must name a Model of {parent} without a version, like "
                    f"{parent}/models/ID; got {parent_model!r}.",
                    "parent_model",
                )
            if model_id and model_id != model_of:
                raise InvalidArgument(
                    f"A new version keeps its model's id: leave it out or give {model_of!r}.",
                    "model_id",
                )
            if self.models.find(model) is None:
                raise NotFound(f'The parent Model "{model}" was not found.')
            return model, True
        if model_id is not None and not MODEL_ID.fullmatch(model_id):
            raise InvalidArgument(
                f"Invalid model id {model_id!r}: up to 63 characters of [a-z0-9_-], "
                "not starting with a digit or a hyphen.",
                "model_id",
            )
        name = f"{parent}/models/{model_id or new_id or new_job_id()}"
        if self.models.find(name) is not None:
            raise AlreadyExists(f"Model {name} already exists.")
        return name, False

    def upload_trained(
        self, parent: str, wanted: dict[str, Any], pipeline: dict[str, Any]
    ) -> dict[str, Any]:
        """What a pipeline uploads when its job succeeds: a new Model (its `modelId`, or the
        pipeline's own id) or a new version of its `parentModel`. The version's
        `trainingPipeline` names the pipeline, so a second call (a server that stopped before
        the pipeline recorded the Model) finds that version instead of adding another."""
        pipeline_id = pipeline["name"].rsplit("/", 1)[-1]
        model_id, parent_model = pipeline.get("modelId") or None, pipeline.get("parentModel")
        target = parent_model or f"{parent}/models/{model_id or pipeline_id}"
        found = self.models.find(split_version(target)[0])
        for body in (found.bodies if found else {}).values():
            if body.get("trainingPipeline") == pipeline["name"]:
                return body
        check_aliases(list(wanted.get("versionAliases") or []), "model.version_aliases")
        name, new_version = self.target(parent, model_id, parent_model, pipeline_id)
        if new_version:
            return self._new_version(name, wanted, pipeline["name"])
        return self._new_model(parent, name, wanted, pipeline["name"])

    def _new_model(
        self, parent: str, name: str, wanted: dict[str, Any], pipeline: str
    ) -> dict[str, Any]:
        stamp = format_time(now())
        versions = Versions(name, {}, 0)
        add_version(versions, version_body(wanted, name, 1, (stamp, stamp), pipeline), stamp)
        return self.models.create(parent, versions.bodies[1])

    def _new_version(self, name: str, wanted: dict[str, Any], pipeline: str) -> dict[str, Any]:
        def append(versions: Versions) -> None:
            stamp = format_time(now())
            created = versions.bodies[versions.default_id()].get("createTime") or stamp
            body = version_body(wanted, name, versions.next_id(), (stamp, created), pipeline)
            add_version(versions, body, stamp)

        try:
            versions = self.models.write(name, append)
        except NotFound:
            raise NotFound(f'The parent Model "{name}" was not found.') from None
        return versions.bodies[versions.last_id]

    # -- read ---------------------------------------------------------------------------------
    def get(self, name: str) -> dict[str, Any]:
        model, version = split_version(name)
        versions = self.models.get(model)
        version_id = versions.resolve(version) if version else versions.default_id()
        if version_id is None:
            raise NotFound(f'The Model "{name}" was not found: it has no version {version!r}.')
        return complete(versions.bodies[version_id])

    def list_versions(self, name: str, query: ListQuery) -> tuple[list[dict[str, Any]], str]:
        if query.filter.strip():
            raise InvalidArgument("vertexd does not filter model versions.", "filter")
        versions = self.models.get(split_version(name)[0])
        ordered = [versions.bodies[v] for v in sorted(versions.bodies)]
        start, end = query.offset, query.offset + query.limit
        token = query.next_page_token() if len(ordered) > end else ""
        return [complete(body) for body in ordered[start:end]], token

    # -- change -------------------------------------------------------------------------------
    def merge_version_aliases(self, name: str, changes: list[str]) -> dict[str, Any]:
        model, version = split_version(name)
        if not version:
            raise InvalidArgument("must name a version: ID@VERSION or ID@ALIAS.", "name")

        def merge(versions: Versions) -> None:
            version_id = _resolved(versions, name, version)
            merge_aliases(versions, version_id, changes, format_time(now()))

        return self.get(f"{model}@{_resolved(self.models.write(model, merge), name, version)}")

    def delete(self, name: str) -> dict[str, Any]:
        model, version = split_version(name)
        if version is not None:
            return self.delete_version(name)
        self.models.get(model)
        self.models.delete(model)
        return self.operations.finished_delete(model)

    def delete_version(self, name: str) -> dict[str, Any]:
        model, version = split_version(name)
        if not version:
            raise InvalidArgument("must name a version: ID@VERSION or ID@ALIAS.", "name")
        self.models.write(model, lambda v: remove_version(v, _resolved(v, name, version)))
        return self.operations.finished(model, DELETE_VERSION_METADATA, {"@type": EMPTY})

    def list(self, parent: str, query: ListQuery) -> tuple[list[dict[str, Any]], str]:
        bodies, more = self.store.list_page(MODELS, parent, query)
        return [complete(body) for body in bodies], (query.next_page_token() if more else "")


EMPTY = "type.googleapis.com/google.protobuf.Empty"


def _resolved(versions: Versions, name: str, version: str) -> int:
    version_id = versions.resolve(version)
    if version_id is None:
        raise model_not_found(name)
    return version_id
