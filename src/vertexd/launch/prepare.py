"""CustomJob -> launch plan: Python environments, ports, argv and the replica environment.

The only place that reads a job spec to decide what runs. `prepare` may take long (a first
environment build); the scheduler calls it off the event loop.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vertexd.launch.environments import EnvironmentBuilder
from vertexd.launch.plan import LaunchPlan, ReplicaPlan, Resources
from vertexd.launch.replica_env import JobContext, ReplicaSlot, replica_env
from vertexd.resources.custom_job import CustomJobSpec, WorkerPoolSpec
from vertexd.resources.custom_job_rules import active_pools
from vertexd.resources.machines import machine_shape
from vertexd.store.logs import job_log_path

Log = Callable[[str], None]


def pool_resources(pool: WorkerPoolSpec) -> Resources:
    """What one replica of the pool asks for, from its machineSpec."""
    machine = pool.machine_spec
    shape = machine_shape(machine.machine_type or "") if machine else None
    if machine is None or shape is None:
        return Resources()
    gpus = machine.accelerator_count or shape.gpus
    kind = machine.accelerator_type.name if machine.accelerator_type else ""
    return Resources(float(shape.cpus), shape.memory_gb, gpus, kind if gpus else "")


def job_resources(spec: CustomJobSpec) -> Resources:
    total = Resources()
    for _, pool in active_pools(spec):
        for _ in range(pool.replica_count or 1):
            total = total + pool_resources(pool)
    return total


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class Preparer:
    def __init__(self, jobs_dir: Path, environments: EnvironmentBuilder, extra_env: dict[str, str]):
        self.jobs_dir = jobs_dir
        self.environments = environments
        self.extra_env = extra_env  # service-wide additions, e.g. where local buckets live

    def log_path(self, job_id: str) -> Path:
        return job_log_path(self.jobs_dir, job_id)

    def prepare(
        self, job_id: str, job_spec: dict[str, Any], attempt: int, log: Log, trial_id: str = ""
    ) -> LaunchPlan:
        spec = CustomJobSpec.model_validate(job_spec)
        pools = active_pools(spec)
        slots = [
            ReplicaSlot(index, replica, f"127.0.0.1:{free_port()}")
            for index, pool in pools
            for replica in range(pool.replica_count or 1)
        ]
        base = spec.base_output_directory.output_uri_prefix if spec.base_output_directory else None
        context = JobContext(job_id, job_spec, base, trial_id)
        run_dir = self.jobs_dir / job_id / f"attempt-{attempt}"
        by_pool = dict(pools)
        replicas = tuple(
            self._replica(by_pool[slot.pool], context, slots, slot, run_dir, log) for slot in slots
        )
        return LaunchPlan(job_id, run_dir, self.log_path(job_id), replicas)

    def _replica(
        self,
        pool: WorkerPoolSpec,
        job: JobContext,
        slots: list[ReplicaSlot],
        slot: ReplicaSlot,
        run_dir: Path,
        log: Log,
    ) -> ReplicaPlan:
        env = {"PYTHONUNBUFFERED": "1", **self.extra_env, **replica_env(job, slots, slot)}
        workdir, resources = run_dir / slot.task_name, pool_resources(pool)
        if pool.container_spec is not None:
            container = pool.container_spec
            env.update({var.name: var.value for var in container.env or []})
            entrypoint, cmd = container_override(container.command, container.args)
            return ReplicaPlan(
                slot.task_name, (), env, workdir, resources, container.image_uri, entrypoint, cmd
            )
        package = pool.python_package_spec
        assert package is not None and package.executor_image_uri and package.python_module
        environment = self.environments.prepare(
            package.executor_image_uri, list(package.package_uris or []), log
        )
        env.update({var.name: var.value for var in package.env or []})
        argv = (str(environment.python), "-m", package.python_module, *(package.args or []))
        return ReplicaPlan(slot.task_name, argv, env, workdir, resources)


def container_override(
    command: list[str] | None, args: list[str] | None
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The seed's four rules: (ENTRYPOINT, CMD) to run, None meaning the image's own.

    Giving `command` alone drops the image's CMD, as Docker does when ENTRYPOINT is replaced.
    """
    if command:
        return tuple(command), tuple(args or ())
    return None, (tuple(args) if args else None)
