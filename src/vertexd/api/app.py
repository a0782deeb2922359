"""The FastAPI app: wiring of store, engine link, services and routes (nothing else here).
The jobs run in the engine process (engine/); this process answers the API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from vertexd import __version__
from vertexd.api.engine_gate import EngineGate
from vertexd.api.errors import install_error_handlers
from vertexd.api.gcs import install_gcs_api
from vertexd.api.guard import AUTHENTICATED, Guard
from vertexd.api.guard_policy import StartupRefused, guard_config
from vertexd.api.job_routes import job_routes
from vertexd.api.models import model_routes
from vertexd.api.openapi import install_openapi
from vertexd.api.operations import operation_routes
from vertexd.backends.container import ContainerBackend
from vertexd.backends.container.engine import Engine
from vertexd.console import install_console
from vertexd.core.errors import Unavailable
from vertexd.core.job_credentials import JobCredentials, server_key
from vertexd.engine.link import EngineFailed, EngineLink, Facts, Spawned
from vertexd.resources.custom_job import CustomJob
from vertexd.resources.training_pipeline import TrainingPipeline
from vertexd.resources.tuning_job import HyperparameterTuningJob
from vertexd.service.custom_jobs import CustomJobService, HostFacts
from vertexd.service.models import ModelService
from vertexd.service.operations import OperationService
from vertexd.service.training_pipelines import TrainingPipelineService
from vertexd.service.tuning_jobs import TuningJobService
from vertexd.settings import Settings
from vertexd.storage import Storage
from vertexd.storage.gcs import ObjectStore
from vertexd.store.db import make_engine, migrate
from vertexd.store.jobs import JobStore
from vertexd.store.models import ModelStore

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, serve_grpc: bool = False, spawned: Spawned | None = None
) -> FastAPI:
    """The app; with `serve_grpc` (`vertexd serve`) also the gRPC endpoint of `grpc_port`,
    bound here and serving for the app's lifespan. Starts the engine process (which runs
    the jobs), or takes the one `spawned` early, and returns once it has recovered
    what an earlier server left: call it from a thread that lives as long as the app."""
    settings.home.mkdir(parents=True, exist_ok=True)
    # Secrets that let a job reach the storage API without the user's token (see guard.py).
    job_credentials = JobCredentials(server_key(settings.home / "job-credentials.key"))
    guard = guard_config(settings, job_credentials)  # refuses an exposed server with no token
    database = make_engine(settings.db_url)
    migrate(database)
    store = JobStore(database)
    engine = EngineLink.start(settings, job_credentials, spawned)
    with_grpc = serve_grpc and bool(settings.grpc_port)
    if with_grpc:  # its types load slowly: while the engine recovers
        import vertexd.api.grpc.server  # noqa: F401
    try:
        facts = engine.wait_ready()
    except EngineFailed as exc:
        raise StartupRefused(str(exc)) from None
    operations = OperationService(store)
    custom_jobs = CustomJobService(
        store, engine.jobs, operations, settings.jobs_dir, host_facts(settings, facts)
    )
    models = ModelService(store, ModelStore(database), operations)
    tuning_jobs = TuningJobService(store, engine.tuning, custom_jobs, operations, settings.jobs_dir)
    pipelines = TrainingPipelineService(
        store, custom_jobs, engine.pipelines, models, operations, tuning_jobs
    )
    grpc = None
    if with_grpc:
        from vertexd.api.grpc.server import Services, grpc_endpoint  # loaded above

        services = Services(custom_jobs, tuning_jobs, pipelines, models, operations)
        grpc = grpc_endpoint(settings, guard, services)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if grpc is not None:
            grpc.start()
        yield
        if grpc is not None:
            await asyncio.to_thread(grpc.stop)
        await asyncio.to_thread(engine.stop, settings.grace_seconds)
        await asyncio.to_thread(store.close)  # (and the database engine it was given)

    app = FastAPI(
        title="vertexd",
        version=__version__,
        description="Vertex AI custom training (v1 REST) on your own machines.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(EngineGate, engine=engine)
    app.add_middleware(Guard, config=guard)  # in front of every route, later ones too
    install_openapi(app)  # errors in Vertex's shape, request bodies described
    app.include_router(job_routes("customJobs", custom_jobs, CustomJob))
    app.include_router(job_routes("hyperparameterTuningJobs", tuning_jobs, HyperparameterTuningJob))
    app.include_router(job_routes("trainingPipelines", pipelines, TrainingPipeline))
    app.include_router(operation_routes(operations))
    app.include_router(model_routes(models))
    if settings.gcs == "local":  # the Cloud Storage JSON API over the local buckets
        install_gcs_api(app, ObjectStore(settings.buckets_dir))
    storage = Storage(settings.buckets_dir, settings.gcs)
    install_console(app, store, storage, settings.jobs_dir, facts.gpus)  # the web console at /

    @app.get("/healthz", tags=["service"])
    async def health(request: Request) -> dict[str, Any]:
        if engine.problem is not None:  # jobs no longer run: say so to whoever watches
            raise Unavailable(engine.problem)
        answer: dict[str, Any] = {"status": "ok", "version": __version__}
        if request.scope.get(AUTHENTICATED):  # where files live is for authenticated callers
            answer["home"] = str(settings.home)
        return answer

    app.state.settings = settings
    app.state.job_credentials = job_credentials
    return app


def host_facts(settings: Settings, facts: Facts) -> HostFacts:
    """What create checks a job against: the engine's facts, and this process's own client
    of the container engine for the images it has."""
    has_image = (
        ContainerBackend(Engine(facts.container_url), settings.home).has_image
        if facts.container_url
        else None
    )
    return HostFacts(
        facts.capacity,
        has_image,
        facts.container_gpus,
        settings.strict_resources,
        facts.no_container_engine,
        frozenset(gpu.kind for gpu in facts.gpus if gpu.kind),
    )
