"""The launch plan: everything a backend needs to run a job, and nothing about Vertex.

A plan is built once per attempt by `launch.prepare` and handed to a backend. Backends read
only these fields; they never see a CustomJob.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Resources:
    cpus: float = 0.0
    memory_gb: float = 0.0
    gpus: int = 0
    accelerator_type: str = ""  # Vertex's name of the GPU type asked for
    gpu_model: str = ""  # its short model name ("T4"), as clusters label their nodes

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.cpus + other.cpus,
            self.memory_gb + other.memory_gb,
            self.gpus + other.gpus,
            self.accelerator_type or other.accelerator_type,
            self.gpu_model or other.gpu_model,
        )

    def fits_in(self, other: Resources) -> bool:
        return (
            self.cpus <= other.cpus
            and self.memory_gb <= other.memory_gb
            and self.gpus <= other.gpus
        )

    def describe(self) -> str:
        text = f"{self.cpus:g} vCPUs, {self.memory_gb:g} GB memory"
        return text + (f", {self.gpus} GPUs" if self.gpus else "")


@dataclass(frozen=True)
class Reservation:
    """Where each replica will run: `host:port` per replica (in plan order), chosen before
    the plan is built because the replicas' environment names them (CLUSTER_SPEC...)."""

    addresses: tuple[str, ...]
    # What the backend set aside (a placement group), opaque to the launch; None: nothing.
    handle: object | None = None


@dataclass(frozen=True)
class PythonEnvSpec:
    """How the replica's Python environment is made, for backends that build it where the
    replica runs (a Ray node): the image it stands for and the packages to install."""

    executor_image_uri: str
    package_uris: tuple[str, ...]


@dataclass(frozen=True)
class Mount:
    """A host folder seen inside a replica's container."""

    source: Path
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class ReplicaPlan:
    task_name: str  # "workerpool0-0": what logs and errors call the replica
    argv: tuple[str, ...]  # a local process's command line (unused with an image)
    env: dict[str, str] = field(hash=False)
    workdir: Path
    resources: Resources
    image: str | None = None  # a container image; None runs argv as a local process
    entrypoint: tuple[str, ...] | None = None  # None keeps the image's ENTRYPOINT
    cmd: tuple[str, ...] | None = None  # None keeps the image's CMD
    python_env: PythonEnvSpec | None = None  # set when argv[0] is a built environment's python
    mounts: tuple[Mount, ...] = ()  # host folders inside the container (with an image only)
    # The host GPUs the replica is given (ids: UUIDs, or indices of declared ones); empty with
    # `resources.gpus` set: the backend picks them (Ray).
    gpu_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class LaunchPlan:
    job_id: str
    run_dir: Path  # scratch space of this attempt: working dirs, exit records
    log_path: Path  # the job's JSON-lines log, shared by every replica
    replicas: tuple[ReplicaPlan, ...]
    # What backend.reserve() set aside for this plan (placement group...), released by cleanup.
    reservation: Reservation | None = field(default=None, hash=False)

    @property
    def resources(self) -> Resources:
        total = Resources()
        for replica in self.replicas:
            total = total + replica.resources
        return total
