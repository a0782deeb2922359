"""ModelService's RPCs, thin over the service REST's model routes call (api/models.py)."""

from __future__ import annotations

from typing import Any

from google.cloud.aiplatform_v1.types import model, model_service
from google.protobuf.message import Message

from vertexd.api.grpc.messages import OPERATION, Rpc, list_query, name, pb
from vertexd.api.job_routes import page
from vertexd.core.errors import InvalidArgument
from vertexd.service.models import ModelService

MODEL_SERVICE = "google.cloud.aiplatform.v1.ModelService"


def model_rpcs(models: ModelService) -> list[Rpc]:
    def upload(body: dict[str, Any]) -> dict[str, Any]:
        wanted = {key: value for key, value in body.items() if key != "parent"}
        return models.upload(body.get("parent", ""), wanted)

    def list_models(body: dict[str, Any]) -> dict[str, Any]:
        return page("models", *models.list(body.get("parent", ""), list_query(body)))

    def list_versions(body: dict[str, Any]) -> dict[str, Any]:
        return page("models", *models.list_versions(name(body), list_query(body)))

    def merge_aliases(body: dict[str, Any]) -> dict[str, Any]:
        aliases = body.get("versionAliases", [])
        if not aliases:
            raise InvalidArgument("must be a list of aliases.", "version_aliases")
        return models.merge_version_aliases(name(body), aliases)

    return [
        rpc("UploadModel", model_service.UploadModelRequest, OPERATION, upload),
        rpc(
            "GetModel",
            model_service.GetModelRequest,
            pb(model.Model),
            lambda b: models.get(name(b)),
        ),
        rpc("ListModels", model_service.ListModelsRequest, listed("Models"), list_models),
        rpc(
            "ListModelVersions",
            model_service.ListModelVersionsRequest,
            listed("ModelVersions"),
            list_versions,
        ),
        rpc(
            "MergeVersionAliases",
            model_service.MergeVersionAliasesRequest,
            pb(model.Model),
            merge_aliases,
        ),
        rpc(
            "DeleteModel",
            model_service.DeleteModelRequest,
            OPERATION,
            lambda b: models.delete(name(b)),
        ),
        rpc(
            "DeleteModelVersion",
            model_service.DeleteModelVersionRequest,
            OPERATION,
            lambda b: models.delete_version(name(b)),
        ),
    ]


def rpc(method: str, request: Any, response: type[Message], call: Any) -> Rpc:
    return Rpc(MODEL_SERVICE, method, pb(request), response, call)


def listed(what: str) -> type[Message]:
    return pb(getattr(model_service, f"List{what}Response"))
