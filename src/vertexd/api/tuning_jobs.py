"""REST routes for hyperparameterTuningJobs (google.cloud.aiplatform.v1.JobService)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from vertexd.api.custom_jobs import PARENT, parent_name
from vertexd.api.wire import json_body, wants_int_enums
from vertexd.resources.tuning_job import HyperparameterTuningJob
from vertexd.service.tuning_jobs import TuningJobService, render
from vertexd.store.listing import ListQuery

COLLECTION = PARENT + "/hyperparameterTuningJobs"
JOB = COLLECTION + "/{job_id}"
DOC: dict[int | str, dict[str, Any]] = {200: {"model": HyperparameterTuningJob}}


def job_name(project: str, location: str, job_id: str) -> str:
    return f"{parent_name(project, location)}/hyperparameterTuningJobs/{job_id}"


def tuning_job_routes(service: TuningJobService) -> APIRouter:
    router = APIRouter(tags=["hyperparameterTuningJobs"])

    @router.post(COLLECTION, responses=DOC, summary="Create a HyperparameterTuningJob")
    async def create(project: str, location: str, request: Request) -> dict[str, Any]:
        body = service.create(parent_name(project, location), await json_body(request))
        return render(body, wants_int_enums(request))

    @router.get(COLLECTION, summary="List HyperparameterTuningJobs")
    async def list_jobs(
        project: str,
        location: str,
        request: Request,
        filter: str = "",
        page_size: int = Query(0, alias="pageSize"),
        page_token: str = Query("", alias="pageToken"),
        order_by: str = Query("", alias="orderBy"),
    ) -> dict[str, Any]:
        query = ListQuery(filter, page_size, page_token, order_by)
        bodies, token = service.list(parent_name(project, location), query)
        enum_ints = wants_int_enums(request)
        answer: dict[str, Any] = {
            "hyperparameterTuningJobs": [render(b, enum_ints) for b in bodies]
        }
        if token:
            answer["nextPageToken"] = token
        return answer

    @router.post(JOB + ":cancel", summary="Cancel a HyperparameterTuningJob")
    async def cancel(project: str, location: str, job_id: str) -> dict[str, Any]:
        service.cancel(job_name(project, location, job_id))
        return {}

    @router.get(JOB, responses=DOC, summary="Get a HyperparameterTuningJob")
    async def get(project: str, location: str, job_id: str, request: Request) -> dict[str, Any]:
        record = service.get(job_name(project, location, job_id))
        return render(record.body, wants_int_enums(request))

    @router.delete(JOB, summary="Delete a HyperparameterTuningJob and its trials' CustomJobs")
    async def delete(project: str, location: str, job_id: str) -> dict[str, Any]:
        return service.delete(job_name(project, location, job_id))

    @router.get(JOB + "/logs", summary="Read a tuning job's own log (a vertexd extension)")
    async def read_logs(
        project: str,
        location: str,
        job_id: str,
        offset: int = 0,
        task_name: str | None = Query(None, alias="taskName"),
    ) -> dict[str, Any]:
        return service.read_logs(job_name(project, location, job_id), offset, task_name)

    return router
