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
    accelerator_type: str = ""

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.cpus + other.cpus,
            self.memory_gb + other.memory_gb,
            self.gpus + other.gpus,
            self.accelerator_type or other.accelerator_type,
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
class ReplicaPlan:
    task_name: str  # "workerpool0-0": what logs and errors call the replica
    argv: tuple[str, ...]  # a local process's command line (unused with an image)
    env: dict[str, str] = field(hash=False)
    workdir: Path
    resources: Resources
    image: str | None = None  # a container image; None runs argv as a local process
    entrypoint: tuple[str, ...] | None = None  # None keeps the image's ENTRYPOINT
    cmd: tuple[str, ...] | None = None  # None keeps the image's CMD


@dataclass(frozen=True)
class LaunchPlan:
    job_id: str
    run_dir: Path  # scratch space of this attempt: working dirs, exit records
    log_path: Path  # the job's JSON-lines log, shared by every replica
    replicas: tuple[ReplicaPlan, ...]
    labels: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def resources(self) -> Resources:
        total = Resources()
        for replica in self.replicas:
            total = total + replica.resources
        return total
