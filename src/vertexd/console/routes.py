"""Mounts the console on the API's app: `/` (the page), `/console/static/...` (its assets)
and the read-only helpers under `/console/api/...`."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select
from starlette.responses import Response

from vertexd.console.catalogue import frameworks, machine_types
from vertexd.console.files import list_output
from vertexd.launch.prepare import replica_gpus
from vertexd.resources.custom_job import CustomJobSpec
from vertexd.scheduler.gpus import Gpu
from vertexd.storage import Storage
from vertexd.store.jobs import JobStore
from vertexd.store.records import Record
from vertexd.store.tables import resources

STATIC = Path(__file__).parent / "static"
DEFAULT_PARENT = "projects/vertexd/locations/us-central1"  # the CLI's defaults


def install_console(
    app: FastAPI,
    store: JobStore,
    storage: Storage,
    jobs_dir: Path | None = None,
    gpus: Collection[Gpu] = (),
) -> None:
    """`jobs_dir`: the jobs' own folders, which the files helper may list besides buckets;
    `gpus`: the host's inventory, to say which devices a job's replicas hold."""
    roots = (jobs_dir,) if jobs_dir else ()
    inventory = {gpu.id: gpu for gpu in gpus}

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    @app.get("/console/api/parents", tags=["console"], summary="Projects/locations in use")
    def parents() -> dict[str, Any]:
        return {"parents": used_parents(store), "default": DEFAULT_PARENT}

    @app.get("/console/api/executors", tags=["console"], summary="Prebuilt training images")
    async def executor_catalogue() -> dict[str, Any]:
        return {"frameworks": frameworks()}

    @app.get("/console/api/machine-types", tags=["console"], summary="Machine types")
    async def machines() -> dict[str, Any]:
        return machine_types()

    @app.get("/console/api/files", tags=["console"], summary="Files under an output URI")
    def files(uri: str = Query(...)) -> dict[str, Any]:  # sync: walks a folder
        return list_output(storage, uri, roots)

    @app.get("/console/api/devices", tags=["console"], summary="The GPUs a job's replicas hold")
    def devices(name: str = Query(...)) -> dict[str, Any]:
        return replica_devices(store.get(name), inventory)

    app.mount("/console/static", _Revalidated(directory=STATIC), name="console-static")


class _Revalidated(StaticFiles):
    """Assets are revalidated on each load (a 304 when unchanged), so an upgraded vertexd
    never runs with a browser's stale copy of the console."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def replica_devices(record: Record, inventory: dict[str, Gpu]) -> dict[str, Any]:
    """Each replica's GPUs while the job holds them (none before admission, after its end)."""
    if not record.devices:
        return {"replicas": []}
    spec = CustomJobSpec.model_validate(record.body.get("jobSpec") or {})
    tasks = [task for task, _, _ in replica_gpus(spec)]
    return {
        "replicas": [
            {"taskName": task, "devices": [_device(key, inventory) for key in ids]}
            for task, ids in zip(tasks, record.devices, strict=False)
            if ids
        ]
    }


def _device(key: str, inventory: dict[str, Gpu]) -> dict[str, Any]:
    gpu = inventory.get(key)
    if gpu is None:
        return {"id": key}
    kind = gpu.kind
    return {
        "id": key,
        "index": gpu.index,
        "model": gpu.model,
        "memoryMb": gpu.memory_mb,
        "acceleratorType": kind,
    }


def used_parents(store: JobStore) -> list[str]:
    """Every `projects/P/locations/L` that holds a resource, most recently used first."""
    latest = func.max(resources.c.create_time)
    stmt = select(resources.c.parent, latest).group_by(resources.c.parent).order_by(latest.desc())
    with store.engine.connect() as conn:
        return [str(row[0]) for row in conn.execute(stmt)]
