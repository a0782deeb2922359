"""The JSON API under /storage/v1: buckets, and object metadata, listing, delete, copy,
rewrite and compose. `alt=media` on an object's path is a download (media.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vertexd.api.gcs.common import base_url, integer, json_body, not_routed
from vertexd.api.gcs.media import Media
from vertexd.api.gcs.wire import bucket_resource, object_resource
from vertexd.storage.gcs.conditions import Conditions, generation_of
from vertexd.storage.gcs.errors import bad_request
from vertexd.storage.gcs.listing import MAX_RESULTS, ListRequest, list_objects
from vertexd.storage.gcs.objects import ObjectStore

# The object operations named after an object's path: .../o/NAME/<verb>/...
_VERBS = {"compose": 0, "rewriteTo": 4, "copyTo": 4, "moveTo": 2}  # verb: parts after it


class JsonApi:
    def __init__(self, store: ObjectStore, media: Media) -> None:
        self.store, self.media = store, media

    async def dispatch(self, request: Request, parts: list[str]) -> Response:
        method = request.method
        if parts[:1] != ["b"]:
            raise not_routed(request)
        if len(parts) == 1:
            return await self._buckets(request)
        bucket = parts[1]
        if len(parts) == 2:
            return await self._bucket(request, bucket)
        if parts[2] != "o":
            raise not_routed(request)
        if len(parts) == 3:
            if method == "GET":
                return await self._call(self._list, request, bucket)
            raise not_routed(request)
        name, verb, rest = _split_object(parts[3:])
        if verb is None:
            return await self._object(request, bucket, name)
        if method != "POST":
            raise not_routed(request)
        body = await json_body(request)
        if verb == "compose":
            return await self._call(self._compose, request, bucket, name, body)
        if verb == "moveTo":
            return await self._call(self._move, request, bucket, name, rest[1], body)
        return await self._call(self._copy, request, (bucket, name), (rest[1], rest[3]), body, verb)

    # -- buckets ---------------------------------------------------------------------------
    async def _buckets(self, request: Request) -> Response:
        base = base_url(request)
        if request.method == "GET":
            found = await run_in_threadpool(self.store.list_buckets)
            items = [bucket_resource(info, base) for info in found]
            return JSONResponse({"kind": "storage#buckets", "items": items})
        if request.method == "POST":
            body = await json_body(request)
            name = str(body.get("name") or "")
            if not name:
                raise bad_request("A new bucket needs a name.")
            info = await run_in_threadpool(self.store.create_bucket, name)
            return JSONResponse(bucket_resource(info, base))
        raise not_routed(request)

    async def _bucket(self, request: Request, bucket: str) -> Response:
        if request.method in ("GET", "PATCH", "PUT"):
            info = await run_in_threadpool(self.store.get_bucket, bucket)
            return JSONResponse(bucket_resource(info, base_url(request)))
        if request.method == "DELETE":
            await run_in_threadpool(self.store.delete_bucket, bucket)
            return Response(status_code=204)
        raise not_routed(request)

    # -- objects ---------------------------------------------------------------------------
    async def _object(self, request: Request, bucket: str, name: str) -> Response:
        method = request.method
        if method == "GET" and request.query_params.get("alt") == "media":
            return await self.media.download(request, bucket, name)
        if method == "GET":
            return await self._call(self._get, request, bucket, name)
        if method in ("PATCH", "PUT"):
            body = await json_body(request)
            return await self._call(self._patch, request, bucket, name, body)
        if method == "DELETE":
            return await self._call(self._delete, request, bucket, name)
        raise not_routed(request)

    async def _call(self, work: Callable[..., Any], request: Request, *args: Any) -> Response:
        result = await run_in_threadpool(work, request, *args)
        if result is None:
            return Response(status_code=204)
        return JSONResponse(result)

    def _get(self, request: Request, bucket: str, name: str) -> dict[str, Any]:
        meta = self.store.get(bucket, name, generation_of(request.query_params))
        Conditions.from_query(request.query_params).check(meta, f"{bucket}/{name}")
        return object_resource(meta, base_url(request))

    def _patch(
        self, request: Request, bucket: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        conditions = Conditions.from_query(request.query_params)
        meta = self.store.patch(bucket, name, body, conditions)
        return object_resource(meta, base_url(request))

    def _delete(self, request: Request, bucket: str, name: str) -> None:
        query = request.query_params
        self.store.delete(bucket, name, generation_of(query), Conditions.from_query(query))

    def _list(self, request: Request, bucket: str) -> dict[str, Any]:
        query = request.query_params
        wanted = ListRequest(
            prefix=query.get("prefix", ""),
            delimiter=query.get("delimiter", ""),
            page_token=query.get("pageToken", ""),
            max_results=integer(request, "maxResults", MAX_RESULTS),
            start_offset=query.get("startOffset", ""),
            end_offset=query.get("endOffset", ""),
        )
        page = list_objects(self.store, bucket, wanted)
        base = base_url(request)
        answer: dict[str, Any] = {"kind": "storage#objects"}
        answer["items"] = [object_resource(meta, base) for meta in page.items]
        if page.prefixes:
            answer["prefixes"] = page.prefixes
        if page.next_token:
            answer["nextPageToken"] = page.next_token
        return answer

    def _copy(
        self,
        request: Request,
        source: tuple[str, str],
        target: tuple[str, str],
        body: dict[str, Any],
        verb: str,
    ) -> dict[str, Any]:
        query = request.query_params
        meta = self.store.copy(
            (*source, generation_of(query, "sourceGeneration")),
            target,
            body,
            Conditions.from_query(query),
            Conditions.from_query(query, "ifSource"),
        )
        resource = object_resource(meta, base_url(request))
        if verb == "copyTo":
            return resource
        size = str(meta.size)
        return {
            "kind": "storage#rewriteResponse",
            "totalBytesRewritten": size,
            "objectSize": size,
            "done": True,
            "resource": resource,
        }

    def _move(
        self, request: Request, bucket: str, name: str, target: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        query = request.query_params
        source = (bucket, name, generation_of(query, "sourceGeneration"))
        conditions = Conditions.from_query(query)
        meta = self.store.copy(source, (bucket, target), body, conditions)
        self.store.delete(bucket, name, None, Conditions())
        return object_resource(meta, base_url(request))

    def _compose(
        self, request: Request, bucket: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        sources = body.get("sourceObjects")
        if not isinstance(sources, list) or not all(
            isinstance(s, dict) and s.get("name") for s in sources
        ):
            raise bad_request("compose needs sourceObjects: a list of {name, generation}.")
        parts = [(str(s["name"]), _optional_int(s.get("generation"))) for s in sources]
        destination = body.get("destination") or {}
        conditions = Conditions.from_query(request.query_params)
        meta = self.store.compose(bucket, name, parts, destination, conditions)
        return object_resource(meta, base_url(request))


def _split_object(parts: list[str]) -> tuple[str, str | None, list[str]]:
    """(object name, verb or None, the parts after the verb) from the parts after /o/."""
    for index in range(1, len(parts)):
        verb, rest = parts[index], parts[index + 1 :]
        if verb in _VERBS and len(rest) == _VERBS[verb] and _shape_ok(verb, rest):
            return "/".join(parts[:index]), verb, rest
    return "/".join(parts), None, []


def _shape_ok(verb: str, rest: list[str]) -> bool:
    if verb == "moveTo":
        return rest[0] == "o"
    return verb == "compose" or (rest[0] == "b" and rest[2] == "o")


def _optional_int(value: object) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        raise bad_request(f"generation must be an integer, not {value!r}.") from None
