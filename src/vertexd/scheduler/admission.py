"""Which queued jobs may start now, against the host's CPU, memory and GPU budget.

First come, first served: a job that does not fit holds back the ones behind it, so a large
job is never starved by a stream of small ones. The one exception: a job that asks for no
GPU may pass jobs waiting only for GPUs when the CPUs and memory leave room for it and for
them (it cannot delay them). A job larger than the whole host runs when it is alone, so
specs copied from Vertex (n1-standard-8 on a laptop) still run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import psutil

from vertexd.launch.plan import Resources
from vertexd.settings import Settings


def host_capacity(settings: Settings, gpus: int) -> Resources:
    """The budget: --cpus and --memory-gb, else what the machine has; `gpus` from the
    inventory (gpus.py)."""
    cpus = settings.cpus if settings.cpus is not None else float(os.cpu_count() or 1)
    memory = settings.memory_gb
    if memory is None:
        memory = psutil.virtual_memory().total / 1e9
    return Resources(cpus, memory, gpus)


def admit(
    queued: Iterable[tuple[str, Resources]], in_use: Resources, capacity: Resources, running: int
) -> list[str]:
    """Names of the queued jobs (in queue order) that start now. The queue is read no
    further than a job that may still pass those waiting (a long queue costs little)."""
    chosen: list[str] = []
    waiting: Resources | None = None  # what the jobs that must wait, ahead in the queue, need
    for name, need in queued:
        if waiting is None:
            alone = running == 0 and not chosen
            if alone or (in_use + need).fits_in(capacity):
                chosen.append(name)
                in_use = in_use + need
                continue
            waiting = need
        elif cannot_delay(need, in_use, waiting, capacity):
            chosen.append(name)
            in_use = in_use + need
            continue
        else:
            waiting = waiting + need
        if no_room_to_pass(in_use, waiting, capacity):
            break
    return chosen


def no_room_to_pass(in_use: Resources, waiting: Resources, capacity: Resources) -> bool:
    """Whether the CPUs or memory are spoken for even without another job: then no job later
    in the queue may pass those waiting (cannot_delay is false for any need)."""
    together = in_use + waiting
    return together.cpus > capacity.cpus or together.memory_gb > capacity.memory_gb


def cannot_delay(
    need: Resources, in_use: Resources, waiting: Resources, capacity: Resources
) -> bool:
    """Whether a job behind waiting ones may start first: it takes no GPU, and the CPUs and
    memory leave room for it and for all that wait (they wait only for GPUs to free up)."""
    if need.gpus:
        return False
    together = in_use + waiting + need
    return together.cpus <= capacity.cpus and together.memory_gb <= capacity.memory_gb
