"""Where the Cloud Storage JSON API is served: /storage/v1, /download/storage/v1 and
/upload/storage/v1 on vertexd's own port, over the local buckets folder.

Paths are split by hand from the raw (still percent-encoded) path, so that an object name
with '/' in it (sent as %2F) never mixes with the path's own structure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from fastapi import APIRouter, FastAPI, Request, Response

from vertexd.api.gcs.json_api import JsonApi
from vertexd.api.gcs.media import Media
from vertexd.api.gcs.wire import error_response
from vertexd.storage.gcs.errors import GcsError
from vertexd.storage.gcs.objects import ObjectStore
from vertexd.storage.gcs.uploads import Uploads

Handler = Callable[[Request, list[str]], Awaitable[Response]]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
PREFIXES = ("/storage/v1", "/download/storage/v1", "/upload/storage/v1")


def install_gcs_api(app: FastAPI, store: ObjectStore) -> None:
    """Serve the API; called while the app is made, before any request (nothing else writes
    the store's staging and upload folders), so leftovers of an earlier server go first."""
    store.sweep()
    app.include_router(gcs_router(store))


def gcs_router(store: ObjectStore) -> APIRouter:
    media = Media(store, Uploads(store))
    json_api = JsonApi(store, media)
    router = APIRouter()
    handlers: dict[str, Handler] = {
        PREFIXES[0]: json_api.dispatch,
        PREFIXES[1]: media.download_route,
        PREFIXES[2]: media.upload_route,
    }
    for prefix, handler in handlers.items():
        router.add_api_route(
            prefix + "/{rest:path}",
            _endpoint(prefix, handler),
            methods=METHODS,
            include_in_schema=False,
        )
    return router


def _endpoint(prefix: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, segments(request, prefix))
        except GcsError as error:
            return error_response(error)

    return endpoint


def segments(request: Request, prefix: str) -> list[str]:
    """The path after `prefix`, split at its slashes, each part percent-decoded."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    text = raw.decode("latin-1").split("?", 1)[0]
    rest = text[len(prefix) :] if text.startswith(prefix) else ""
    return [unquote(part) for part in rest.strip("/").split("/")] if rest.strip("/") else []
