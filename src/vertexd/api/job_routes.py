"""The REST routes every kind of job shares (customJobs, hyperparameterTuningJobs,
trainingPipelines): create, list, get, cancel, delete, and vertexd's logs extension.

The services block (store, file system, container engine), so the routes are plain
functions, which FastAPI runs in its thread pool, off the event loop."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from vertexd.api.openapi import json_body as body_schema
from vertexd.api.wire import json_body, wants_int_enums
from vertexd.resources.common import VertexModel
from vertexd.store.listing import ListQuery
from vertexd.store.records import Record

PARENT = "/v1/projects/{project}/locations/{location}"


class JobResources(Protocol):
    def create(self, parent: str, request: Any) -> dict[str, Any]: ...

    def get(self, name: str) -> Record: ...

    def list(self, parent: str, query: ListQuery) -> tuple[list[dict[str, Any]], str]: ...

    def cancel(self, name: str) -> None: ...

    def delete(self, name: str) -> dict[str, Any]: ...


class WithLogs(Protocol):
    def read_logs(self, name: str, offset: int, task_name: str | None) -> dict[str, Any]: ...


def parent_name(project: str, location: str) -> str:
    return f"projects/{project}/locations/{location}"


def list_query(
    filter: str = "",
    page_size: int = Query(0, alias="pageSize"),
    page_token: str = Query("", alias="pageToken"),
    order_by: str = Query("", alias="orderBy"),
) -> ListQuery:
    return ListQuery(filter, page_size, page_token, order_by)


def page(key: str, bodies: list[dict[str, Any]], token: str) -> dict[str, Any]:
    answer: dict[str, Any] = {key: bodies}
    if token:
        answer["nextPageToken"] = token
    return answer


def job_routes(collection: str, service: JobResources, model: type[VertexModel]) -> APIRouter:
    """Routes for `/v1/projects/{p}/locations/{l}/<collection>`; answers echo `model`."""
    router = APIRouter(tags=[collection])
    docs: dict[int | str, dict[str, Any]] = {200: {"model": model}}
    one = PARENT + f"/{collection}/{{job_id}}"
    kind = model.__name__

    def name_of(project: str, location: str, job_id: str) -> str:
        return f"{parent_name(project, location)}/{collection}/{job_id}"

    def render(body: dict[str, Any], request: Request) -> dict[str, Any]:
        """Enums as names, unless the client asked for ints (`$alt=json;enum-encoding=int`)."""
        return model.model_validate(body).to_wire(True) if wants_int_enums(request) else body

    @router.post(
        PARENT + f"/{collection}",
        responses=docs,
        summary=f"Create a {kind}",
        openapi_extra=body_schema(kind),
    )
    async def create(project: str, location: str, request: Request) -> dict[str, Any]:
        wanted = await json_body(request)
        body = await run_in_threadpool(service.create, parent_name(project, location), wanted)
        return render(body, request)

    @router.get(PARENT + f"/{collection}", summary=f"List {kind}s")
    def list_all(
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
        return page(collection, [render(body, request) for body in bodies], token)

    @router.post(one + ":cancel", summary=f"Cancel a {kind}")
    def cancel(project: str, location: str, job_id: str) -> dict[str, Any]:
        service.cancel(name_of(project, location, job_id))
        return {}

    @router.get(one, responses=docs, summary=f"Get a {kind}")
    def get(project: str, location: str, job_id: str, request: Request) -> dict[str, Any]:
        return render(service.get(name_of(project, location, job_id)).body, request)

    @router.delete(one, summary=f"Delete a {kind} (answers an Operation)")
    def delete(project: str, location: str, job_id: str) -> dict[str, Any]:
        return service.delete(name_of(project, location, job_id))

    if hasattr(service, "read_logs"):
        reader: WithLogs = service  # type: ignore[assignment]

        @router.get(one + "/logs", summary=f"Read a {kind}'s logs (a vertexd extension)")
        def read_logs(
            project: str,
            location: str,
            job_id: str,
            offset: int = 0,
            task_name: str | None = Query(None, alias="taskName"),
        ) -> dict[str, Any]:
            return reader.read_logs(name_of(project, location, job_id), offset, task_name)

    return router
