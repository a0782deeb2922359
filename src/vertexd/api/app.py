"""The FastAPI app: wiring of store, scheduler, services and routes (nothing else here)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from vertexd import __version__
from vertexd.api.errors import install_error_handlers
from vertexd.api.gcs import install_gcs_api
from vertexd.api.guard import AUTHENTICATED, Guard
from vertexd.api.guard_policy import guard_config
from vertexd.api.job_routes import job_routes
from vertexd.api.models import model_routes
from vertexd.api.openapi import install_openapi
from vertexd.api.operations import operation_routes
from vertexd.backends.base import Backend
from vertexd.backends.container import ContainerBackend
from vertexd.backends.container.discovery import find_engine
from vertexd.backends.local import LocalBackend
from vertexd.backends.ray import ray_backend
from vertexd.backends.routing import RoutingBackend
from vertexd.console import install_console
from vertexd.core import states
from vertexd.core.job_credentials import JobCredentials, server_key
from vertexd.launch.environments import EnvironmentBuilder
from vertexd.launch.prepare import Preparer
from vertexd.resources.custom_job import CustomJob
from vertexd.resources.training_pipeline import TrainingPipeline
from vertexd.resources.tuning_job import HyperparameterTuningJob
from vertexd.scheduler.admission import host_capacity
from vertexd.scheduler.gpus import GpuPool, read_inventory
from vertexd.scheduler.scheduler import CUSTOM_JOBS, Scheduler
from vertexd.scheduler.supervisor import Timing
from vertexd.service.custom_jobs import CustomJobService, HostFacts
from vertexd.service.models import ModelService
from vertexd.service.operations import OperationService
from vertexd.service.pipeline_follower import PipelineFollower
from vertexd.service.training_pipelines import TrainingPipelineService, model_artifact_uri
from vertexd.service.trial_jobs import TrialJobs
from vertexd.service.tuning_jobs import TuningJobService
from vertexd.settings import Settings
from vertexd.storage import Storage
from vertexd.storage.gcs import ObjectStore
from vertexd.storage.gcs.endpoint import replica_storage_env
from vertexd.store.db import make_engine, migrate
from vertexd.store.jobs import JobStore
from vertexd.store.models import ModelStore
from vertexd.tuning.controller import TuningController

log = logging.getLogger(__name__)


def create_app(settings: Settings, serve_grpc: bool = False) -> FastAPI:
    """The app; with `serve_grpc` (`vertexd serve`) also the gRPC endpoint of `grpc_port`,
    bound here and serving for the app's lifespan."""
    settings.home.mkdir(parents=True, exist_ok=True)
    # Secrets that let a job reach the storage API without the user's token (see guard.py).
    job_credentials = JobCredentials(server_key(settings.home / "job-credentials.key"))
    guard = guard_config(settings, job_credentials)  # refuses an exposed server with no token
    engine = make_engine(settings.db_url)
    migrate(engine)
    store = JobStore(engine)
    storage = Storage(settings.buckets_dir, settings.gcs)
    extra_env = (
        {
            "VERTEXD_BUCKETS_DIR": str(settings.buckets_dir),
            **replica_storage_env(settings.host, settings.port),
        }
        if settings.gcs == "local"
        else {}
    )
    # Replicas with an image (and executor images the engine has) run on a container engine.
    engine_search = find_engine(settings.container_engine)
    containers = (
        ContainerBackend.connect(
            engine_search, settings.home, settings.pull, settings.limit_containers
        )
        if engine_search.url
        else None
    )
    if containers is None:
        log.info("no container engine: %s", engine_search.explain())
    close_backend: Callable[[], None]  # what the backend holds until shutdown
    gpus: GpuPool | None = None  # on Ray, the cluster hands out its GPUs
    backend: Backend
    if settings.backend == "ray":
        ray, capacity = ray_backend(settings)
        backend, close_backend = ray, ray.close
    else:
        local = LocalBackend(settings.replica_nice, settings.warm_python)
        backend, close_backend = local, local.close
        gpus = GpuPool(read_inventory(settings.gpus))
        capacity = host_capacity(settings, len(gpus))
        for gpu in gpus.gpus.values():
            log.info("GPU inventory: %s", gpu.describe())
    preparer = Preparer(
        settings.jobs_dir,
        EnvironmentBuilder(settings.envs_dir, storage, shim=settings.gcs == "local"),
        extra_env,
        containers,
        capacity,
        job_credentials,
    )
    if containers is not None:
        backend = RoutingBackend(backend, containers)
    timing = Timing(settings.grace_seconds, settings.poll_seconds)
    scheduler = Scheduler(store, backend, preparer, capacity, timing, gpus)
    operations = OperationService(store)
    custom_jobs = CustomJobService(
        store,
        scheduler,
        operations,
        settings.jobs_dir,
        HostFacts(
            capacity,
            containers.has_image if containers else None,
            containers.gpus if containers else False,
            settings.strict_resources,
            engine_search.explain(),
            frozenset(gpu.kind for gpu in gpus.gpus.values() if gpu.kind) if gpus else frozenset(),
        ),
    )
    models = ModelService(store, ModelStore(engine), operations)
    follower = PipelineFollower(store, models, model_artifact_uri)
    tuner = TuningController(store, TrialJobs(custom_jobs, scheduler), settings.jobs_dir)
    tuning_jobs = TuningJobService(store, tuner, custom_jobs, operations, settings.jobs_dir)
    pipelines = TrainingPipelineService(store, custom_jobs, follower, operations, tuning_jobs)
    grpc = None
    if serve_grpc and settings.grpc_port:
        from vertexd.api.grpc.server import Services, grpc_endpoint  # the types load slowly

        services = Services(custom_jobs, tuning_jobs, pipelines, models, operations)
        grpc = grpc_endpoint(settings, guard, services)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Pipelines catch up with their backing jobs, then follow them.
        await asyncio.to_thread(follower.start)
        await scheduler.start()  # recovery runs before the first request is served
        await tuner.start()  # tuning jobs reload after their trials' jobs are reattached
        if containers is not None:  # what an earlier server left and no active job holds
            await asyncio.to_thread(containers.sweep, active_job_ids(store))
        if grpc is not None:
            grpc.start()
        yield
        if grpc is not None:
            await asyncio.to_thread(grpc.stop)
        await tuner.shutdown()
        await scheduler.shutdown()
        await asyncio.to_thread(close_backend)
        await asyncio.to_thread(engine.dispose)

    app = FastAPI(
        title="vertexd",
        version=__version__,
        description="Vertex AI custom training (v1 REST) on your own machines.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(Guard, config=guard)  # in front of every route, later ones too
    install_openapi(app)  # errors in Vertex's shape, request bodies described
    app.include_router(job_routes("customJobs", custom_jobs, CustomJob))
    app.include_router(job_routes("hyperparameterTuningJobs", tuning_jobs, HyperparameterTuningJob))
    app.include_router(job_routes("trainingPipelines", pipelines, TrainingPipeline))
    app.include_router(operation_routes(operations))
    app.include_router(model_routes(models))
    if settings.gcs == "local":  # the Cloud Storage JSON API over the local buckets
        install_gcs_api(app, ObjectStore(settings.buckets_dir))
    inventory = list(gpus.gpus.values()) if gpus else []
    install_console(app, store, storage, settings.jobs_dir, inventory)  # the web console at /

    @app.get("/healthz", tags=["service"])
    async def health(request: Request) -> dict[str, Any]:
        answer: dict[str, Any] = {"status": "ok", "version": __version__}
        if request.scope.get(AUTHENTICATED):  # where files live is for authenticated callers
            answer["home"] = str(settings.home)
        return answer

    app.state.settings = settings
    app.state.job_credentials = job_credentials
    app.state.scheduler = scheduler
    return app


def active_job_ids(store: JobStore) -> set[str]:
    """Ids of the CustomJobs that are running: their containers are not leftovers."""
    return {record.id for record in store.in_states(states.ACTIVE, CUSTOM_JOBS)}
