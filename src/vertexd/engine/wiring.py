"""The engine's parts, wired from the settings: backends, launch, the scheduler, the tuning
controller and the pipeline follower. Built and run in the engine process only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine

from vertexd.backends.base import Backend
from vertexd.backends.container import ContainerBackend
from vertexd.backends.container.discovery import find_engine
from vertexd.backends.local import LocalBackend
from vertexd.backends.ray import ray_backend
from vertexd.backends.routing import RoutingBackend
from vertexd.core import states
from vertexd.core.job_credentials import JobCredentials, server_key
from vertexd.launch.environments import EnvironmentBuilder
from vertexd.launch.plan import Resources
from vertexd.launch.prepare import Preparer
from vertexd.scheduler.admission import host_capacity
from vertexd.scheduler.gpus import GpuPool, read_inventory
from vertexd.scheduler.scheduler import CUSTOM_JOBS, Scheduler
from vertexd.scheduler.supervisor import Timing
from vertexd.service.models import ModelService
from vertexd.service.operations import OperationService
from vertexd.service.pipeline_follower import PipelineFollower
from vertexd.service.training_pipelines import model_artifact_uri
from vertexd.service.trial_jobs import TrialJobs
from vertexd.settings import Settings
from vertexd.storage import Storage
from vertexd.storage.gcs.endpoint import replica_storage_env
from vertexd.store.db import make_engine
from vertexd.store.jobs import JobStore
from vertexd.store.models import ModelStore
from vertexd.tuning.controller import TuningController

log = logging.getLogger(__name__)
ENGINE_NICE = 5  # see engine_nice


@dataclass
class EngineParts:
    database: Engine
    store: JobStore
    scheduler: Scheduler
    tuner: TuningController
    follower: PipelineFollower
    containers: ContainerBackend | None
    close_backend: Callable[[], None]  # what the backend holds until shutdown
    facts: dict[str, Any]  # what the API needs to know of this host (see link.Facts)

    async def start(self) -> None:
        """Recovery, in the order it needs: then the engine takes work."""
        # Pipelines catch up with their backing jobs, then follow them.
        await asyncio.to_thread(self.follower.start)
        await self.scheduler.start()  # reattaches, or ends, what an earlier engine left
        await self.tuner.start()  # tuning jobs reload after their trials' jobs are reattached
        if self.containers is not None:  # what an earlier server left and no active job holds
            await asyncio.to_thread(self.containers.sweep, active_job_ids(self.store))

    async def shutdown(self) -> None:
        await self.tuner.shutdown()
        await self.scheduler.shutdown()
        await asyncio.to_thread(self.close_backend)
        await asyncio.to_thread(self.store.close)  # (and the database engine it was given)


class SharedCredentials(JobCredentials):
    """The jobs' storage credentials, issued here; the server's guard, which checks them,
    hears of each (`issued`, `revoked`: link.py's messages)."""

    def __init__(self, key: bytes, issued: Callable[[str], None], revoked: Callable[[str], None]):
        super().__init__(key)
        self._issued, self._revoked = issued, revoked

    def issue(self, job_id: str) -> str:
        secret = super().issue(job_id)
        self._issued(job_id)
        return secret

    def revoke(self, job_id: str) -> None:
        super().revoke(job_id)
        self._revoked(job_id)


def build(
    settings: Settings, issued: Callable[[str], None], revoked: Callable[[str], None]
) -> EngineParts:
    """The engine's parts (connects to the container engine and to Ray); `issued` and
    `revoked` tell the server of the jobs' credentials."""
    key = server_key(settings.home / "job-credentials.key")
    job_credentials = SharedCredentials(key, issued, revoked)
    database = make_engine(settings.db_url)
    store = JobStore(database)
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
    backend, close_backend, capacity, gpus = _replica_backend(settings)
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
    models = ModelService(store, ModelStore(database), operations)
    follower = PipelineFollower(store, models, model_artifact_uri)
    tuner = TuningController(store, TrialJobs(store, scheduler), settings.jobs_dir)
    facts = {
        "capacity": asdict(capacity),
        "gpus": [asdict(gpu) for gpu in gpus.gpus.values()] if gpus else [],
        "containerUrl": engine_search.url if containers is not None else None,
        "containerGpus": containers.gpus if containers is not None else False,
        "noContainerEngine": engine_search.explain(),
    }
    return EngineParts(
        database, store, scheduler, tuner, follower, containers, close_backend, facts
    )


def engine_nice(settings: Settings) -> int:
    """How much nicer than the server the engine runs: when the host is full, the API
    answers first, then the engine runs jobs, then their replicas compute (measured in
    benchmarks/api_under_load.py: at 5, the API's p99 while 500 jobs run fell by a third and
    jobs/s did not change; at 10, as nice as the replicas, jobs/s fell)."""
    return min(ENGINE_NICE, settings.replica_nice)


def _replica_backend(
    settings: Settings,
) -> tuple[Backend, Callable[[], None], Resources, GpuPool | None]:
    """Where replicas without an image run, what jobs may use there, and the host's GPUs
    (None on Ray, where the cluster hands out its GPUs)."""
    if settings.backend == "ray":
        ray, capacity = ray_backend(settings)
        return ray, ray.close, capacity, None
    # Its replicas are `replica_nice` nicer than the server, as this process is less.
    local = LocalBackend(settings.replica_nice - engine_nice(settings), settings.warm_python)
    gpus = GpuPool(read_inventory(settings.gpus))
    for gpu in gpus.gpus.values():
        log.info("GPU inventory: %s", gpu.describe())
    return local, local.close, host_capacity(settings, len(gpus)), gpus


def active_job_ids(store: JobStore) -> set[str]:
    """Ids of the CustomJobs that are running: their containers are not leftovers."""
    return {record.id for record in store.in_states(states.ACTIVE, CUSTOM_JOBS)}
