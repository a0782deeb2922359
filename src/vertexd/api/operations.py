"""Operation polling: `/v1/{name}` and the `/ui/{name}` path the Python SDK polls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from vertexd.service.operations import OperationService


def operation_routes(service: OperationService) -> APIRouter:
    router = APIRouter(tags=["operations"])

    for prefix in ("/v1", "/ui"):

        @router.get(
            prefix + "/projects/{project}/locations/{location}/{rest:path}/operations/{op_id}",
            summary="Get an operation under a resource",
        )
        def get_nested(project: str, location: str, rest: str, op_id: str) -> dict[str, Any]:
            return service.get(f"projects/{project}/locations/{location}/{rest}/operations/{op_id}")

        @router.get(
            prefix + "/projects/{project}/locations/{location}/operations/{op_id}",
            summary="Get an operation",
        )
        def get(project: str, location: str, op_id: str) -> dict[str, Any]:
            return service.get(f"projects/{project}/locations/{location}/operations/{op_id}")

    return router
