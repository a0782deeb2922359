"""REST routes for models (ModelService): get (also `ID@version`), list, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from vertexd.api.job_routes import PARENT, list_query, page, parent_name
from vertexd.resources.model import Model
from vertexd.service.models import ModelService

MODEL = PARENT + "/models/{model_id}"
DOCS: dict[int | str, dict[str, Any]] = {200: {"model": Model}}


def model_routes(service: ModelService) -> APIRouter:
    router = APIRouter(tags=["models"])

    def name_of(project: str, location: str, model_id: str) -> str:
        return f"{parent_name(project, location)}/models/{model_id}"

    @router.get(PARENT + "/models", summary="List Models")
    def list_models(
        project: str,
        location: str,
        filter: str = "",
        page_size: int = Query(0, alias="pageSize"),
        page_token: str = Query("", alias="pageToken"),
        order_by: str = Query("", alias="orderBy"),
    ) -> dict[str, Any]:
        query = list_query(filter, page_size, page_token, order_by)
        bodies, token = service.list(parent_name(project, location), query)
        return page("models", bodies, token)

    @router.get(MODEL, responses=DOCS, summary="Get a Model")
    def get(project: str, location: str, model_id: str) -> dict[str, Any]:
        return service.get(name_of(project, location, model_id))

    @router.delete(MODEL, summary="Delete a Model (answers an Operation)")
    def delete(project: str, location: str, model_id: str) -> dict[str, Any]:
        return service.delete(name_of(project, location, model_id))

    return router
