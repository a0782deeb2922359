"""Which queued jobs may start now, against the host's CPU, memory and GPU budget.

First come, first served: a job that does not fit holds back the ones behind it, so a large
job is never starved by a stream of small ones. A job larger than the whole host runs
when it is alone, so specs copied from Vertex (n1-standard-8 on a laptop) still run.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from vertexd.launch.plan import Resources
from vertexd.settings import Settings


def host_capacity(settings: Settings) -> Resources:
    cpus = settings.cpus if settings.cpus is not None else float(os.cpu_count() or 1)
    memory = settings.memory_gb
    if memory is None:
        memory = psutil.virtual_memory().total / 1e9
    gpus = settings.gpus if settings.gpus is not None else _count_nvidia_gpus()
    return Resources(cpus, memory, gpus)


def _count_nvidia_gpus() -> int:
    devices = Path("/proc/driver/nvidia/gpus")
    return len(list(devices.iterdir())) if devices.is_dir() else 0


def admit(
    queued: list[tuple[str, Resources]], in_use: Resources, capacity: Resources, running: int
) -> list[str]:
    """Names of the queued jobs (in queue order) that start now."""
    chosen: list[str] = []
    for name, need in queued:
        alone = running == 0 and not chosen
        if not (alone or (in_use + need).fits_in(capacity)):
            break
        chosen.append(name)
        in_use = in_use + need
    return chosen
