"""REST routes for trainingPipelines (PipelineService) and models (ModelService)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from vertexd.api.custom_jobs import PARENT, parent_name
from vertexd.api.wire import json_body, wants_int_enums
from vertexd.resources.model import Model
from vertexd.resources.training_pipeline import TrainingPipeline
from vertexd.service.models import ModelService
from vertexd.service.training_pipelines import TrainingPipelineService, render
from vertexd.store.listing import ListQuery

PIPELINE = PARENT + "/trainingPipelines/{pipeline_id}"
MODEL = PARENT + "/models/{model_id}"
PIPELINE_DOC: dict[int | str, dict[str, Any]] = {200: {"model": TrainingPipeline}}
MODEL_DOC: dict[int | str, dict[str, Any]] = {200: {"model": Model}}


def list_query(
    filter: str = "",
    page_size: int = Query(0, alias="pageSize"),
    page_token: str = Query("", alias="pageToken"),
    order_by: str = Query("", alias="orderBy"),
) -> ListQuery:
    return ListQuery(filter, page_size, page_token, order_by)


def _page(key: str, bodies: list[dict[str, Any]], token: str) -> dict[str, Any]:
    answer: dict[str, Any] = {key: bodies}
    if token:
        answer["nextPageToken"] = token
    return answer


def training_pipeline_routes(service: TrainingPipelineService) -> APIRouter:
    router = APIRouter(tags=["trainingPipelines"])

    def name_of(project: str, location: str, pipeline_id: str) -> str:
        return f"{parent_name(project, location)}/trainingPipelines/{pipeline_id}"

    @router.post(PARENT + "/trainingPipelines", responses=PIPELINE_DOC)
    async def create(project: str, location: str, request: Request) -> dict[str, Any]:
        body = service.create(parent_name(project, location), await json_body(request))
        return render(body, wants_int_enums(request))

    @router.get(PARENT + "/trainingPipelines")
    async def list_pipelines(
        project: str, location: str, request: Request, filter: str = "",
        page_size: int = Query(0, alias="pageSize"),
        page_token: str = Query("", alias="pageToken"),
        order_by: str = Query("", alias="orderBy"),
    ) -> dict[str, Any]:  # fmt: skip
        query = list_query(filter, page_size, page_token, order_by)
        bodies, token = service.list(parent_name(project, location), query)
        enum_ints = wants_int_enums(request)
        return _page("trainingPipelines", [render(b, enum_ints) for b in bodies], token)

    @router.post(PIPELINE + ":cancel")
    async def cancel(project: str, location: str, pipeline_id: str) -> dict[str, Any]:
        service.cancel(name_of(project, location, pipeline_id))
        return {}

    @router.get(PIPELINE, responses=PIPELINE_DOC)
    async def get(
        project: str, location: str, pipeline_id: str, request: Request
    ) -> dict[str, Any]:
        record = service.get(name_of(project, location, pipeline_id))
        return render(record.body, wants_int_enums(request))

    @router.delete(PIPELINE)
    async def delete(project: str, location: str, pipeline_id: str) -> dict[str, Any]:
        return service.delete(name_of(project, location, pipeline_id))

    return router


def model_routes(service: ModelService) -> APIRouter:
    router = APIRouter(tags=["models"])

    def name_of(project: str, location: str, model_id: str) -> str:
        return f"{parent_name(project, location)}/models/{model_id}"

    @router.get(PARENT + "/models")
    async def list_models(
        project: str, location: str, filter: str = "",
        page_size: int = Query(0, alias="pageSize"),
        page_token: str = Query("", alias="pageToken"),
        order_by: str = Query("", alias="orderBy"),
    ) -> dict[str, Any]:  # fmt: skip
        query = list_query(filter, page_size, page_token, order_by)
        bodies, token = service.list(parent_name(project, location), query)
        return _page("models", bodies, token)

    @router.get(MODEL, responses=MODEL_DOC)
    async def get(project: str, location: str, model_id: str) -> dict[str, Any]:
        return service.get(name_of(project, location, model_id))

    @router.delete(MODEL)
    async def delete(project: str, location: str, model_id: str) -> dict[str, Any]:
        return service.delete(name_of(project, location, model_id))

    return router
