"""The FastAPI app: wiring of store, scheduler, services and routes (nothing else here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from vertexd import __version__
from vertexd.api.custom_jobs import custom_job_routes
from vertexd.api.errors import install_error_handlers
from vertexd.api.operations import operation_routes
from vertexd.api.training_pipelines import model_routes, training_pipeline_routes
from vertexd.backends.base import Backend
from vertexd.backends.local import LocalBackend
from vertexd.backends.ray import ray_backend
from vertexd.launch.environments import EnvironmentBuilder
from vertexd.launch.prepare import Preparer
from vertexd.scheduler.admission import host_capacity
from vertexd.scheduler.scheduler import Scheduler
from vertexd.service.custom_jobs import CustomJobService
from vertexd.service.models import ModelService
from vertexd.service.operations import OperationService
from vertexd.service.pipeline_follower import PipelineFollower
from vertexd.service.training_pipelines import TrainingPipelineService, model_artifact_uri
from vertexd.settings import Settings
from vertexd.storage import Storage
from vertexd.store.db import make_engine, migrate
from vertexd.store.jobs import JobStore


def create_app(settings: Settings) -> FastAPI:
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    migrate(engine)
    store = JobStore(engine)
    storage = Storage(settings.buckets_dir, settings.gcs)
    extra_env = (
        {"VERTEXD_BUCKETS_DIR": str(settings.buckets_dir)} if settings.gcs == "local" else {}
    )
    preparer = Preparer(
        settings.jobs_dir,
        EnvironmentBuilder(settings.envs_dir, storage, shim=settings.gcs == "local"),
        extra_env,
    )
    backend: Backend = LocalBackend()
    capacity = host_capacity(settings)
    if settings.backend == "ray":
        backend, capacity = ray_backend(settings)
    scheduler = Scheduler(
        store,
        backend,
        preparer,
        capacity,
        settings.grace_seconds,
        settings.poll_seconds,
    )
    operations = OperationService(store)
    custom_jobs = CustomJobService(
        store, scheduler, operations, settings.jobs_dir, backend.runs_images
    )
    models = ModelService(store, operations)
    follower = PipelineFollower(store, models, model_artifact_uri)
    pipelines = TrainingPipelineService(store, custom_jobs, follower, operations)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        follower.start()  # pipelines catch up with their backing jobs, then follow them
        await scheduler.start()  # recovery runs before the first request is served
        yield
        await scheduler.shutdown()
        engine.dispose()

    app = FastAPI(
        title="vertexd",
        version=__version__,
        description="Vertex AI custom training (v1 REST) on your own machines.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(custom_job_routes(custom_jobs))
    app.include_router(operation_routes(operations))
    app.include_router(training_pipeline_routes(pipelines))
    app.include_router(model_routes(models))

    @app.get("/healthz", tags=["service"])
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "home": str(settings.home)}

    app.state.settings = settings
    app.state.scheduler = scheduler
    return app
