"""CustomJob -> launch plan: Python environments, ports, argv and the replica environment.

The only place that reads a job spec to decide what runs. `prepare` may take long (a first
environment build); the scheduler calls it off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vertexd.launch.environments import EnvironmentBuilder, PythonEnvironment
from vertexd.launch.plan import LaunchPlan, PythonEnvSpec, ReplicaPlan, Reservation, Resources
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


Reserve = Callable[[str, list[tuple[str, Resources]]], Reservation]


class Preparer:
    def __init__(self, jobs_dir: Path, environments: EnvironmentBuilder, extra_env: dict[str, str]):
        self.jobs_dir = jobs_dir
        self.environments = environments
        self.extra_env = extra_env  # service-wide additions, e.g. where local buckets live

    def log_path(self, job_id: str) -> Path:
        return job_log_path(self.jobs_dir, job_id)

    def prepare(
        self,
        job_id: str,
        job_spec: dict[str, Any],
        attempt: int,
        log: Log,
        reserve: Reserve,
        trial_id: str = "",
    ) -> LaunchPlan:
        """Build the plan. Environments are made first: a failed build reserves nothing."""
        spec = CustomJobSpec.model_validate(job_spec)
        pools = active_pools(spec)
        pythons = {index: self._environment(pool, log) for index, pool in pools}
        replicas = [
            (index, replica, pool)
            for index, pool in pools
            for replica in range(pool.replica_count or 1)
        ]
        tasks = [(f"workerpool{i}-{r}", pool_resources(pool)) for i, r, pool in replicas]
        reservation = reserve(job_id, tasks)
        slots = [
            ReplicaSlot(index, replica, address)
            for (index, replica, _), address in zip(replicas, reservation.addresses, strict=True)
        ]
        base = spec.base_output_directory.output_uri_prefix if spec.base_output_directory else None
        context = JobContext(job_id, job_spec, base, trial_id)
        run_dir = self.jobs_dir / job_id / f"attempt-{attempt}"
        plans = tuple(
            self._replica(pool, pythons[slot.pool], context, slots, slot, run_dir)
            for (_, _, pool), slot in zip(replicas, slots, strict=True)
        )
        return LaunchPlan(job_id, run_dir, self.log_path(job_id), plans, reservation.handle)

    def _environment(self, pool: WorkerPoolSpec, log: Log) -> PythonEnvironment | None:
        package = pool.python_package_spec
        if package is None:
            return None
        assert package.executor_image_uri
        return self.environments.prepare(
            package.executor_image_uri, list(package.package_uris or []), log
        )

    def _replica(
        self,
        pool: WorkerPoolSpec,
        python: PythonEnvironment | None,
        job: JobContext,
        slots: list[ReplicaSlot],
        slot: ReplicaSlot,
        run_dir: Path,
    ) -> ReplicaPlan:
        workdir, resources = run_dir / slot.task_name, pool_resources(pool)
        env = {"PYTHONUNBUFFERED": "1", **self.extra_env, **replica_env(job, slots, slot)}
        if job.trial_id:
            # cloudml-hypertune writes here; private to the replica, read back by the tuner.
            env["CLOUD_ML_HP_METRIC_FILE"] = str(workdir / "hypertune" / "output.metrics")
        if pool.container_spec is not None:
            container = pool.container_spec
            env.update({var.name: var.value for var in container.env or []})
            entrypoint, cmd = container_override(container.command, container.args)
            return ReplicaPlan(
                slot.task_name, (), env, workdir, resources, container.image_uri, entrypoint, cmd
            )
        package = pool.python_package_spec
        assert package is not None and package.executor_image_uri and package.python_module
        assert python is not None
        env.update({var.name: var.value for var in package.env or []})
        argv = (str(python.python), "-m", package.python_module, *(package.args or []))
        recipe = PythonEnvSpec(package.executor_image_uri, tuple(package.package_uris or ()))
        return ReplicaPlan(slot.task_name, argv, env, workdir, resources, python_env=recipe)


def container_override(
    command: list[str] | None, args: list[str] | None
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The seed's four rules: (ENTRYPOINT, CMD) to run, None meaning the image's own.

    Giving `command` alone drops the image's CMD, as Docker does when ENTRYPOINT is replaced.
    """
    if command:
        return tuple(command), tuple(args or ())
    return None, (tuple(args) if args else None)
