"""The OpenAPI document says what the API really answers: every error leaves in Vertex's
shape (a `default` response, and no FastAPI 422, which vertexd never sends)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from vertexd.api.openapi_requests import add_request_schemas, request_name

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": "string"},
                "status": {"type": "string"},
            },
        }
    },
}
ERROR_RESPONSE = {
    "description": "An error in Vertex's shape: {error: {code, message, status}}.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def json_body(schema_name: str) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself: the body's schema."""
    schema = {"$ref": f"#/components/schemas/{request_name(schema_name)}"}
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


def install_openapi(app: FastAPI) -> None:
    """Builds the document once, for every route the app has then (later ones included)."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = with_errors(schema)
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def with_errors(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    add_request_schemas(components)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses["default"] = ERROR_RESPONSE
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema
