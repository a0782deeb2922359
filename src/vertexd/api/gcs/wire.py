"""Objects and buckets in the Cloud Storage JSON API's wire form."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from fastapi.responses import JSONResponse

from vertexd.storage.gcs.errors import GcsError
from vertexd.storage.gcs.metadata import ObjectMeta
from vertexd.storage.gcs.objects import BucketInfo

LOCATION = "US-CENTRAL1"


def timestamp(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 1_000_000:03d}Z"


def etag(meta: ObjectMeta) -> str:
    return f"{meta.generation:x}-{meta.metageneration:x}"


def object_resource(meta: ObjectMeta, base: str) -> dict[str, Any]:
    name = quote(meta.name, safe="")
    fields = {k: v for k, v in meta.fields.items() if v is not None}
    return {
        "kind": "storage#object",
        "id": f"{meta.bucket}/{meta.name}/{meta.generation}",
        "selfLink": f"{base}/storage/v1/b/{meta.bucket}/o/{name}",
        "mediaLink": (
            f"{base}/download/storage/v1/b/{meta.bucket}/o/{name}"
            f"?generation={meta.generation}&alt=media"
        ),
        "name": meta.name,
        "bucket": meta.bucket,
        "generation": str(meta.generation),
        "metageneration": str(meta.metageneration),
        "storageClass": "STANDARD",
        "size": str(meta.size),
        "md5Hash": meta.digests.md5,
        "crc32c": meta.digests.crc32c,
        "etag": etag(meta),
        "timeCreated": timestamp(meta.created_ns),
        "updated": timestamp(meta.updated_ns),
        "timeStorageClassUpdated": timestamp(meta.created_ns),
        "timeFinalized": timestamp(meta.created_ns),
        **fields,
        "contentType": meta.content_type,
    }


def bucket_resource(info: BucketInfo, base: str) -> dict[str, Any]:
    created = timestamp(info.created_ns)
    return {
        "kind": "storage#bucket",
        "id": info.name,
        "selfLink": f"{base}/storage/v1/b/{info.name}",
        "name": info.name,
        "projectNumber": "0",
        "metageneration": "1",
        "location": LOCATION,
        "locationType": "region",
        "storageClass": "STANDARD",
        "etag": "CAE=",
        "timeCreated": created,
        "updated": created,
        "iamConfiguration": {
            "uniformBucketLevelAccess": {"enabled": True},
            "publicAccessPrevention": "enforced",
        },
    }


def error_response(error: GcsError) -> JSONResponse:
    return JSONResponse(error.to_body(), status_code=error.code)
