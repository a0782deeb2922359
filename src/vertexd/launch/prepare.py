"""CustomJob -> launch plan: Python environments, ports, argv and the replica environment.

The only place that reads a job spec to decide what runs. `prepare` may take long (a first
environment build); the scheduler calls it off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from vertexd.core.job_credentials import JobCredentials, job_endpoint
from vertexd.core.joblog import job_log_path
from vertexd.launch.environments import (
    EnvironmentBuilder,
    PythonEnvironment,
    StopRequested,
    never,
)
from vertexd.launch.in_container import ContainerLaunch, InContainer
from vertexd.launch.plan import LaunchPlan, PythonEnvSpec, ReplicaPlan, Reservation, Resources
from vertexd.launch.replica_env import JobContext, ReplicaSlot, replica_env
from vertexd.resources.custom_job import CustomJobSpec, WorkerPoolSpec
from vertexd.resources.custom_job_rules import active_pools
from vertexd.resources.machines import GPU_MODELS, machine_shape

Log = Callable[[str], None]
STORAGE_ENV = "STORAGE_EMULATOR_HOST"


def pool_resources(pool: WorkerPoolSpec) -> Resources:
    """What one replica of the pool asks for, from its machineSpec."""
    machine = pool.machine_spec
    shape = machine_shape(machine.machine_type or "") if machine else None
    if machine is None or shape is None:
        return Resources()
    gpus = machine.accelerator_count or shape.gpus
    kind = machine.accelerator_type.name if machine.accelerator_type and gpus else ""
    return Resources(float(shape.cpus), shape.memory_gb, gpus, kind, GPU_MODELS.get(kind, ""))


def replica_gpus(spec: CustomJobSpec) -> list[tuple[str, int, str]]:
    """(task name, GPUs, acceleratorType) of each replica, in plan order."""
    wanted = []
    for index, pool in active_pools(spec):
        asked = pool_resources(pool)
        for replica in range(pool.replica_count or 1):
            wanted.append((f"workerpool{index}-{replica}", asked.gpus, asked.accelerator_type))
    return wanted


def job_resources(spec: CustomJobSpec) -> Resources:
    total = Resources()
    for _, pool in active_pools(spec):
        for _ in range(pool.replica_count or 1):
            total = total + pool_resources(pool)
    return total


Reserve = Callable[[str, list[tuple[str, Resources]]], Reservation]


class Images(Protocol):
    """The container engine, as the launch sees it."""

    gpus: bool  # whether it can give containers GPUs

    def image_env(self, image: str) -> dict[str, str] | None:
        """The image's own ENV, or None when the engine lacks it."""

    def ensure_image(self, image: str, log: Log, should_stop: StopRequested) -> None:
        """Pull `image` when the pull policy asks for it; raises when that fails."""


class Preparer:
    def __init__(
        self,
        jobs_dir: Path,
        environments: EnvironmentBuilder,
        extra_env: dict[str, str],
        images: Images | None = None,
        host: Resources | None = None,
        credentials: JobCredentials | None = None,
    ):
        self.jobs_dir = jobs_dir
        self.environments = environments
        self.extra_env = extra_env  # service-wide additions, e.g. where local buckets live
        # With a container engine: replicas with an image, and executor images the engine
        # has, run in containers.
        self.images = images
        self.containers = (
            ContainerLaunch(
                images.image_env, environments.storage, environments.envs_dir, environments.shim
            )
            if images is not None
            else None
        )
        self.host = host or Resources()  # what jobs may use here (the host or the cluster)
        # Each job reaches vertexd's storage API with a secret of its own, never the user's.
        self.credentials = credentials

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
        should_stop: StopRequested = never,
        gpu_ids: list[list[str]] | None = None,
    ) -> LaunchPlan:
        """Build the plan. Environments are made first: a failed build reserves nothing, and
        one that `should_stop()` ends raises BuildStopped. `gpu_ids`: the host GPUs that
        admission gave each replica (None: the backend chooses, or there are none)."""
        spec = CustomJobSpec.model_validate(job_spec)
        pools = active_pools(spec)
        run_dir = self.jobs_dir / job_id / f"attempt-{attempt}"
        pythons = {
            index: self._environment(index, pool, log, run_dir, should_stop)
            for index, pool in pools
        }
        self._pull_images(pools, log, should_stop)
        given = {index: self._resources(index, pool, pythons[index], log) for index, pool in pools}
        replicas = [
            (index, replica, pool)
            for index, pool in pools
            for replica in range(pool.replica_count or 1)
        ]
        tasks = [(f"workerpool{i}-{r}", given[i]) for i, r, _ in replicas]
        reservation = reserve(job_id, tasks)
        slots = [
            ReplicaSlot(index, replica, address)
            for (index, replica, _), address in zip(replicas, reservation.addresses, strict=True)
        ]
        base = spec.base_output_directory.output_uri_prefix if spec.base_output_directory else None
        context = JobContext(job_id, job_spec, base, trial_id)
        plans = tuple(
            with_gpus(
                self._replica(
                    pool, pythons[slot.pool], given[slot.pool], context, slots, slot, run_dir
                ),
                gpu_ids[number] if gpu_ids is not None else None,
            )
            for number, ((_, _, pool), slot) in enumerate(zip(replicas, slots, strict=True))
        )
        return LaunchPlan(job_id, run_dir, self.log_path(job_id), plans, reservation)

    def _service_env(self, job_id: str) -> dict[str, str]:
        """The service-wide additions, with the storage endpoint under the job's own secret."""
        env = dict(self.extra_env)
        if self.credentials is not None and STORAGE_ENV in env:
            env[STORAGE_ENV] = job_endpoint(env[STORAGE_ENV], self.credentials.issue(job_id))
        return env

    def reattached(self, job_id: str) -> None:
        """A restarted server accepts the secret its replicas hold again."""
        if self.credentials is not None:
            self.credentials.issue(job_id)

    def job_ended(self, job_id: str) -> None:
        if self.credentials is not None:
            self.credentials.revoke(job_id)

    def _pull_images(
        self, pools: list[tuple[int, WorkerPoolSpec]], log: Log, should_stop: StopRequested
    ) -> None:
        """Each containerSpec image once, before anything is reserved."""
        wanted = [pool.container_spec.image_uri for _, pool in pools if pool.container_spec]
        for image in dict.fromkeys(wanted):
            if self.images is not None and image:
                self.images.ensure_image(image, log, should_stop)

    def _resources(self, index: int, pool: WorkerPoolSpec, python: object, log: Log) -> Resources:
        """What each replica of the pool gets: what it asks for, but never more than the
        host's budget, and without GPUs when the place it runs has none (it runs on CPUs,
        with a warning, as Vertex specs copied to a laptop should)."""
        asked = pool_resources(pool)
        given = replace(
            asked,
            cpus=min(asked.cpus, self.host.cpus or asked.cpus),
            memory_gb=min(asked.memory_gb, self.host.memory_gb or asked.memory_gb),
        )
        in_container = pool.container_spec is not None or isinstance(python, InContainer)
        engine_gpus = self.images is not None and self.images.gpus
        gpus = self.host.gpus if engine_gpus or not in_container else 0
        if not asked.gpus or gpus:
            return given
        kind = asked.accelerator_type or "GPU"
        where = (
            "this machine has none"
            if not self.host.gpus
            else "the container engine has no GPU runtime"
        )
        log(
            f"WARNING: workerpool{index} asks for {asked.gpus} x {kind} per replica, but "
            f"{where}: its replicas run without GPUs, on CPUs only. Start vertexd with "
            "--strict-resources to refuse such jobs instead."
        )
        return replace(given, gpus=0, accelerator_type="", gpu_model="")

    def _environment(
        self, index: int, pool: WorkerPoolSpec, log: Log, run_dir: Path, should_stop: StopRequested
    ) -> PythonEnvironment | InContainer | None:
        package = pool.python_package_spec
        if package is None:
            return None
        assert package.executor_image_uri
        image, uris = package.executor_image_uri, list(package.package_uris or [])
        if self.containers is not None:
            staging = run_dir / f"packages-{index}"
            found = self.containers.executor(index, image, uris, staging, log)
            if found is not None:
                return found
        return self.environments.prepare(image, uris, log, should_stop)

    def _replica(
        self,
        pool: WorkerPoolSpec,
        python: PythonEnvironment | InContainer | None,
        resources: Resources,
        job: JobContext,
        slots: list[ReplicaSlot],
        slot: ReplicaSlot,
        run_dir: Path,
    ) -> ReplicaPlan:
        workdir = run_dir / slot.task_name
        env = {"PYTHONUNBUFFERED": "1", **self._service_env(job.job_id)}
        env.update(replica_env(job, slots, slot))
        if job.trial_id:
            # cloudml-hypertune writes here; private to the replica, read back by the tuner.
            env["CLOUD_ML_HP_METRIC_FILE"] = str(workdir / "hypertune" / "output.metrics")
        if pool.container_spec is not None:
            container = pool.container_spec
            env.update({var.name: var.value for var in container.env or []})
            entrypoint, cmd = container_override(container.command, container.args)
            plan = ReplicaPlan(
                slot.task_name, (), env, workdir, resources, container.image_uri, entrypoint, cmd
            )
            return self.containers.adapt(plan) if self.containers is not None else plan
        package = pool.python_package_spec
        assert package is not None and package.executor_image_uri and package.python_module
        env.update({var.name: var.value for var in package.env or []})
        if isinstance(python, InContainer):
            assert self.containers is not None
            plan = ReplicaPlan(slot.task_name, (), env, workdir, resources)
            args = list(package.args or [])
            return self.containers.python_replica(plan, python, package.python_module, args)
        assert python is not None
        argv = (str(python.python), "-m", package.python_module, *(package.args or []))
        recipe = PythonEnvSpec(package.executor_image_uri, tuple(package.package_uris or ()))
        return ReplicaPlan(slot.task_name, argv, env, workdir, resources, python_env=recipe)


def with_gpus(replica: ReplicaPlan, gpu_ids: list[str] | None) -> ReplicaPlan:
    """The replica sees exactly the host GPUs it was given (none: it sees none), as a Vertex
    replica sees its VM's; None leaves the choice to the backend."""
    if gpu_ids is None:
        return replica
    visible = ",".join(gpu_ids)
    env = {**replica.env, "CUDA_VISIBLE_DEVICES": visible, "NVIDIA_VISIBLE_DEVICES": visible}
    if not gpu_ids:
        env["NVIDIA_VISIBLE_DEVICES"] = "void"  # the NVIDIA runtime's word for none
    return replace(replica, env=env, gpu_ids=tuple(gpu_ids))


def container_override(
    command: list[str] | None, args: list[str] | None
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The seed's four rules: (ENTRYPOINT, CMD) to run, None meaning the image's own.

    Giving `command` alone drops the image's CMD, as Docker does when ENTRYPOINT is replaced.
    """
    if command:
        return tuple(command), tuple(args or ())
    return None, (tuple(args) if args else None)
