"""Object bytes: downloads (alt=media, with Range) and uploads (media, multipart, resumable).

Bodies are streamed: an upload is written to a staging file as it arrives (each write off
the event loop), and a download is read from the file in blocks by a sync iterator, which
Starlette runs in its thread pool.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from vertexd.api.gcs import multipart
from vertexd.api.gcs.common import base_url, json_body, not_routed
from vertexd.api.gcs.wire import etag, object_resource
from vertexd.storage.gcs.conditions import Conditions, generation_of
from vertexd.storage.gcs.errors import bad_request, range_not_satisfiable
from vertexd.storage.gcs.metadata import ObjectMeta
from vertexd.storage.gcs.objects import ObjectStore
from vertexd.storage.gcs.uploads import ContentRange, Session, Uploads

_BLOCK = 1 << 20
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_GENERIC_TYPES = ("", "application/octet-stream")


class Media:
    def __init__(self, store: ObjectStore, uploads: Uploads) -> None:
        self.store, self.uploads = store, uploads

    # -- downloads -------------------------------------------------------------------------
    async def download_route(self, request: Request, parts: list[str]) -> Response:
        if request.method != "GET" or len(parts) < 4 or parts[0] != "b" or parts[2] != "o":
            raise not_routed(request)
        return await self.download(request, parts[1], "/".join(parts[3:]))

    async def download(self, request: Request, bucket: str, name: str) -> Response:
        meta, handle = await run_in_threadpool(self._open, request, bucket, name)
        try:
            start, end = _byte_range(request.headers.get("range"), meta.size)
        except BaseException:
            handle.close()
            raise
        headers = _object_headers(meta)
        status = 200
        if (start, end) != (0, meta.size - 1) and meta.size:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{meta.size}"
        else:  # checksums describe the whole object only
            headers["X-Goog-Hash"] = f"crc32c={meta.digests.crc32c},md5={meta.digests.md5}"
        headers["Content-Length"] = str(max(0, end - start + 1))
        body = _blocks(handle, start, end - start + 1)
        return StreamingResponse(body, status, headers, media_type=meta.content_type)

    def _open(self, request: Request, bucket: str, name: str) -> tuple[ObjectMeta, BinaryIO]:
        """The object's metadata and its file, opened: later writes never mix into a read."""
        generation = generation_of(request.query_params)
        for _ in range(3):
            meta = self.store.get(bucket, name, generation)
            Conditions.from_query(request.query_params).check(meta, f"{bucket}/{name}")
            handle = open(self.store.path(bucket, name), "rb")
            if os.fstat(handle.fileno()).st_size == meta.size:
                return meta, handle
            handle.close()  # replaced between the two looks: look again
        return self.store.get(bucket, name, generation), open(self.store.path(bucket, name), "rb")

    # -- uploads ---------------------------------------------------------------------------
    async def upload_route(self, request: Request, parts: list[str]) -> Response:
        if len(parts) != 3 or parts[0] != "b" or parts[2] != "o":
            raise not_routed(request)
        bucket, query = parts[1], request.query_params
        upload_id = query.get("upload_id")
        if upload_id and request.method in ("PUT", "POST"):
            return await self._chunk(request, upload_id)
        if upload_id and request.method == "DELETE":
            await run_in_threadpool(self.uploads.cancel, upload_id)
            return Response(status_code=499)
        if request.method != "POST":
            raise not_routed(request)
        kind = query.get("uploadType", "")
        if kind == "resumable":
            return await self._start_resumable(request, bucket)
        if kind == "multipart":
            return await self._multipart(request, bucket)
        if kind in ("media", ""):
            return await self._media(request, bucket)
        raise bad_request(f"uploadType must be media, multipart or resumable, not {kind!r}.")

    async def _media(self, request: Request, bucket: str) -> Response:
        name = request.query_params.get("name", "")
        fields = _query_fields(request)
        content_type = request.headers.get("content-type", "")
        if content_type not in _GENERIC_TYPES:
            fields["contentType"] = content_type
        if not name:
            raise bad_request("An upload needs the object's name (the `name` query parameter).")
        await run_in_threadpool(self.store.path, bucket, name)  # a bad name fails before the body
        with self.store.staging_file() as staged:
            await _spool(request, staged)
            meta = await run_in_threadpool(self._put, request, bucket, name, staged, fields)
        return JSONResponse(object_resource(meta, base_url(request)))

    async def _multipart(self, request: Request, bucket: str) -> Response:
        content_type = request.headers.get("content-type", "")
        multipart.boundary_of(content_type)
        with self.store.staging_file() as body, self.store.staging_file() as media:
            await _spool(request, body)
            meta = await run_in_threadpool(
                self._put_multipart, request, bucket, body, media, content_type
            )
        return JSONResponse(object_resource(meta, base_url(request)))

    def _put_multipart(
        self, request: Request, bucket: str, body: Path, media: Path, content_type: str
    ) -> ObjectMeta:
        parts = multipart.parse(body, content_type)
        with open(body, "rb") as source, open(media, "wb") as target:
            source.seek(parts.start)
            _copy_length(source, target, parts.length)
        fields = {**_query_fields(request), **parts.metadata}
        if parts.content_type not in (None, *_GENERIC_TYPES) and not fields.get("contentType"):
            fields["contentType"] = parts.content_type
        name = request.query_params.get("name") or str(parts.metadata.get("name") or "")
        return self._put(request, bucket, name, media, fields)

    def _put(
        self, request: Request, bucket: str, name: str, staged: Path, fields: dict[str, Any]
    ) -> ObjectMeta:
        if not name:
            raise bad_request("An upload needs the object's name (the `name` query parameter).")
        conditions = Conditions.from_query(request.query_params)
        return self.store.put(bucket, name, staged, fields, conditions)

    async def _start_resumable(self, request: Request, bucket: str) -> Response:
        body = await json_body(request)
        name = request.query_params.get("name") or str(body.get("name") or "")
        if not name:
            raise bad_request("A resumable upload needs the object's name.")
        fields = {**_query_fields(request), **body}
        upload_type = request.headers.get("x-upload-content-type", "")
        if upload_type not in _GENERIC_TYPES and not fields.get("contentType"):
            fields["contentType"] = upload_type
        length = request.headers.get("x-upload-content-length", "")
        conditions = asdict(Conditions.from_query(request.query_params))
        session = Session(
            bucket, name, fields, conditions, int(length) if length.isdigit() else None
        )
        upload_id = await run_in_threadpool(self.uploads.start, session)
        location = (
            f"{base_url(request)}/upload/storage/v1/b/{bucket}/o?uploadType=resumable"
            f"&name={quote(name, safe='')}&upload_id={upload_id}"
        )
        return Response(status_code=200, headers={"Location": location})

    async def _chunk(self, request: Request, upload_id: str) -> Response:
        length = request.headers.get("content-length")
        place = ContentRange.parse(
            request.headers.get("content-range"), int(length) if length else None
        )
        handle = await run_in_threadpool(self.uploads.open_chunk, upload_id, place)
        if handle is not None:
            try:
                await _write_body(request, handle)
            finally:
                await run_in_threadpool(handle.close)
        expected = _hashes(request.headers.get("x-goog-hash", ""))
        progress = await run_in_threadpool(self.uploads.finish_chunk, upload_id, place, expected)
        if progress.done is not None:
            return JSONResponse(object_resource(progress.done, base_url(request)))
        headers = {"Range": f"bytes=0-{progress.received - 1}"} if progress.received else {}
        return Response(status_code=308, headers=headers)


def _byte_range(header: str | None, size: int) -> tuple[int, int]:
    """(first, last) byte to send; the whole object when there is no usable Range."""
    match = _RANGE.fullmatch((header or "").strip())
    if match is None or size == 0 or match.groups() == ("", ""):
        return 0, size - 1
    first, last = match.groups()
    if first and last and int(last) < int(first):
        return 0, size - 1  # not a valid range: the whole object, as HTTP says
    if first == "":
        return max(0, size - int(last)), size - 1
    if int(first) >= size:
        raise range_not_satisfiable(f"The range {header} starts after the object ({size} bytes).")
    return int(first), min(size - 1, int(last)) if last else size - 1


def _object_headers(meta: ObjectMeta) -> dict[str, str]:
    return {
        "ETag": etag(meta),
        "Accept-Ranges": "bytes",
        "X-Goog-Generation": str(meta.generation),
        "X-Goog-Metageneration": str(meta.metageneration),
        "X-Goog-Stored-Content-Length": str(meta.size),
        "X-Goog-Stored-Content-Encoding": "identity",
        "X-Goog-Storage-Class": "STANDARD",
    }


def _blocks(handle: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    with handle:
        handle.seek(start)
        while length > 0:
            block = handle.read(min(_BLOCK, length))
            if not block:
                return
            length -= len(block)
            yield block


def _copy_length(source: BinaryIO, target: BinaryIO, length: int) -> None:
    while length > 0:
        block = source.read(min(_BLOCK, length))
        if not block:
            raise bad_request("The multipart body ended inside the object's bytes.")
        target.write(block)
        length -= len(block)


async def _spool(request: Request, path: Path) -> None:
    handle = await run_in_threadpool(open, path, "wb")
    try:
        await _write_body(request, handle)
    finally:
        await run_in_threadpool(handle.close)


async def _write_body(request: Request, handle: BinaryIO) -> None:
    """The request body into `handle`, written in blocks off the event loop."""
    pending: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        pending.append(chunk)
        size += len(chunk)
        if size >= _BLOCK:
            await run_in_threadpool(handle.write, b"".join(pending))
            pending, size = [], 0
    if pending:
        await run_in_threadpool(handle.write, b"".join(pending))


def _query_fields(request: Request) -> dict[str, Any]:
    query = request.query_params
    keys = ("contentEncoding", "kmsKeyName")
    return {key: query[key] for key in keys if query.get(key)}


def _hashes(header: str) -> dict[str, str]:
    """x-goog-hash `crc32c=...,md5=...` -> {"crc32c": ..., "md5Hash": ...}."""
    found: dict[str, str] = {}
    for item in header.split(","):
        kind, sep, value = item.strip().partition("=")
        if sep and kind in ("crc32c", "md5"):
            found["crc32c" if kind == "crc32c" else "md5Hash"] = value
    return found
