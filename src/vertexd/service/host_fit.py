"""What this host can run, checked when a job is created.

By default a spec copied from Vertex runs here whatever it asks for: a job larger than the
host runs alone, GPUs the host lacks are left out (both with a warning in the job's log).
With --strict-resources such a job is refused at create instead, naming the pool and what is
missing, for teams that want a spec checked before it goes to Vertex. A container pool needs
a container engine either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vertexd.core.errors import FailedPrecondition
from vertexd.launch.plan import Resources
from vertexd.launch.prepare import pool_resources
from vertexd.resources.custom_job import CustomJobSpec, WorkerPoolSpec
from vertexd.resources.custom_job_rules import active_pools

HOW_TO_POINT = (
    "start Docker or Podman, or point vertexd at an engine with `vertexd serve "
    "--container-engine unix:///PATH/TO/SOCKET` (or DOCKER_HOST)"
)


@dataclass(frozen=True)
class HostFacts:
    capacity: Resources  # what jobs may use here
    # Asks the container engine whether it has an image; None: no container engine.
    has_image: Callable[[str], bool] | None = None
    container_gpus: bool = False  # the engine can give containers GPUs
    strict: bool = False  # --strict-resources
    no_engine: str = ""  # where vertexd looked for an engine, when it found none

    @property
    def runs_images(self) -> bool:
        return self.has_image is not None


def check_fits(host: HostFacts, spec: CustomJobSpec) -> None:
    """FAILED_PRECONDITION for what cannot run here at all, and, when strict, for what would
    run with less than it asked for."""
    total = Resources()
    for index, pool in active_pools(spec):
        path = f"job_spec.worker_pool_specs[{index}]"
        if pool.container_spec is not None and not host.runs_images:
            raise FailedPrecondition(
                f"{path}.container_spec: running a container image needs a container engine, "
                f"and vertexd found none ({host.no_engine}). To use one, {HOW_TO_POINT}."
            )
        asked = pool_resources(pool)
        total = total + Resources(
            asked.cpus * (pool.replica_count or 1),
            asked.memory_gb * (pool.replica_count or 1),
            asked.gpus * (pool.replica_count or 1),
        )
        if host.strict:
            _check_pool(host, pool, asked, path)
    if host.strict and not total.fits_in(host.capacity):
        raise FailedPrecondition(
            f"job_spec.worker_pool_specs: the job asks for {total.describe()} in all; this host "
            f"has {host.capacity.describe()} (--strict-resources refuses what the host cannot "
            "give at once)."
        )


def _check_pool(host: HostFacts, pool: WorkerPoolSpec, asked: Resources, path: str) -> None:
    missing = []
    gpus_here = host.capacity.gpus
    if asked.gpus and pool.container_spec is not None and not host.container_gpus:
        gpus_here = 0  # the engine cannot hand them to a container
    if asked.gpus > gpus_here:
        kind = asked.accelerator_type or "GPU"
        missing.append(f"{asked.gpus} x {kind} (this host has {gpus_here} GPUs for it)")
    if asked.cpus > host.capacity.cpus:
        missing.append(f"{asked.cpus:g} vCPUs (this host has {host.capacity.cpus:g})")
    if asked.memory_gb > host.capacity.memory_gb:
        missing.append(f"{asked.memory_gb:g} GB memory (this host has {host.capacity.memory_gb:g})")
    if missing:
        raise FailedPrecondition(
            f"{path}.machine_spec: each replica asks for "
            + ", ".join(missing)
            + "; --strict-resources refuses what this host cannot give."
        )
