"""REST routes for models (ModelService): upload, get (`ID`, `ID@VERSION`, `ID@ALIAS`), list,
listVersions, mergeVersionAliases, delete (a Model, or one version: `ID@2`, `:deleteVersion`).

Routes with a `:verb` come before the plain `{model_id}` ones, which would match them too."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from vertexd.api.job_routes import PARENT, list_query, page, parent_name
from vertexd.api.wire import json_body, wants_int_enums
from vertexd.core.errors import InvalidArgument
from vertexd.resources.model import Model, complete
from vertexd.service.models import ModelService

MODEL = PARENT + "/models/{model_id}"
DOCS: dict[int | str, dict[str, Any]] = {200: {"model": Model}}


def render(body: dict[str, Any], request: Request) -> dict[str, Any]:
    """Enums as names, unless the client asked for ints (`$alt=json;enum-encoding=int`)."""
    return complete(Model.model_validate(body).to_wire(True)) if wants_int_enums(request) else body


def model_routes(service: ModelService) -> APIRouter:
    router = APIRouter(tags=["models"])

    def name_of(project: str, location: str, model_id: str) -> str:
        return f"{parent_name(project, location)}/models/{model_id}"

    @router.post(PARENT + "/models:upload", summary="Upload a Model or a new version of one")
    async def upload(project: str, location: str, request: Request) -> dict[str, Any]:
        wanted = await json_body(request)
        return await run_in_threadpool(service.upload, parent_name(project, location), wanted)

    @router.get(PARENT + "/models", summary="List Models (their default versions)")
    def list_models(
        project: str,
        location: str,
        request: Request,
        filter: str = "",
        page_size: int = Query(0, alias="pageSize"),
        page_token: str = Query("", alias="pageToken"),
        order_by: str = Query("", alias="orderBy"),
    ) -> dict[str, Any]:
        query = list_query(filter, page_size, page_token, order_by)
        bodies, token = service.list(parent_name(project, location), query)
        return page("models", [render(b, request) for b in bodies], token)

    @router.get(MODEL + ":listVersions", summary="List the versions of a Model")
    def list_versions(
        project: str,
        location: str,
        model_id: str,
        request: Request,
        filter: str = "",
        page_size: int = Query(0, alias="pageSize"),
        page_token: str = Query("", alias="pageToken"),
        order_by: str = Query("", alias="orderBy"),
    ) -> dict[str, Any]:
        query = list_query(filter, page_size, page_token, order_by)
        bodies, token = service.list_versions(name_of(project, location, model_id), query)
        return page("models", [render(b, request) for b in bodies], token)

    @router.post(MODEL + ":mergeVersionAliases", responses=DOCS, summary="Add/remove aliases")
    async def merge_aliases(
        project: str, location: str, model_id: str, request: Request
    ) -> dict[str, Any]:
        wanted = await json_body(request)
        aliases = wanted.get("versionAliases") if isinstance(wanted, dict) else None
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise InvalidArgument("must be a list of aliases.", "version_aliases")
        name = name_of(project, location, model_id)
        body = await run_in_threadpool(service.merge_version_aliases, name, aliases)
        return render(body, request)

    @router.delete(MODEL + ":deleteVersion", summary="Delete a Model version (an Operation)")
    def delete_version(project: str, location: str, model_id: str) -> dict[str, Any]:
        return service.delete_version(name_of(project, location, model_id))

    @router.get(MODEL, responses=DOCS, summary="Get a Model (ID, ID@VERSION or ID@ALIAS)")
    def get(project: str, location: str, model_id: str, request: Request) -> dict[str, Any]:
        return render(service.get(name_of(project, location, model_id)), request)

    @router.delete(MODEL, summary="Delete a Model, or one version with ID@VERSION")
    def delete(project: str, location: str, model_id: str) -> dict[str, Any]:
        return service.delete(name_of(project, location, model_id))

    return router
