"""The host's GPUs: what there is (NVML, or declared with --gpus), and which job holds which.

At start the inventory is read through NVML (`nvidia-ml-py`, the `vertexd[gpu]` extra):
index, UUID, model and memory of each NVIDIA GPU, with the Vertex `acceleratorType` its model
is. `--gpus 0,2` keeps only those devices; `--gpus N` keeps the first N, or, where NVML is
missing, declares N devices 0..N-1 of no known model (machines without NVML, and tests).

Admission then hands each admitted job concrete devices from the pool (`take`), never one
that another job holds, preferring devices of the type a replica asks for; the job gives them
back when it ends. The assignment is stored with the job, so a restarted server holds the
devices of the jobs it reattaches (`hold`) before it admits anything new.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# NVML's product names -> Vertex's acceleratorType (v1 accelerator_type.proto), first match.
_MODELS: tuple[tuple[str, str], ...] = (
    (r"GB200", "NVIDIA_GB200"),
    (r"B200", "NVIDIA_B200"),
    (r"H200", "NVIDIA_H200_141GB"),
    (r"H100.*MEGA", "NVIDIA_H100_MEGA_80GB"),
    (r"H100", "NVIDIA_H100_80GB"),
    (r"A100.*80\s*GB", "NVIDIA_A100_80GB"),
    (r"A100", "NVIDIA_TESLA_A100"),
    (r"RTX PRO 6000", "NVIDIA_RTX_PRO_6000"),
    (r"\bL4\b", "NVIDIA_L4"),
    (r"\bT4\b", "NVIDIA_TESLA_T4"),
    (r"V100", "NVIDIA_TESLA_V100"),
    (r"P100", "NVIDIA_TESLA_P100"),
    (r"\bP4\b", "NVIDIA_TESLA_P4"),
    (r"K80", "NVIDIA_TESLA_K80"),
)


def accelerator_type(model: str) -> str:
    """The Vertex acceleratorType of an NVML product name ("" when Vertex has none)."""
    return next((kind for pattern, kind in _MODELS if re.search(pattern, model)), "")


@dataclass(frozen=True)
class Gpu:
    index: int
    uuid: str
    model: str  # NVML's product name, or "declared"
    memory_mb: int = 0

    @property
    def kind(self) -> str:
        return accelerator_type(self.model)

    @property
    def id(self) -> str:
        """How replicas are given it (CUDA_VISIBLE_DEVICES, the engine's device ids): the
        UUID, which CUDA's own device order cannot mix up; the index of a declared one."""
        return self.uuid

    def describe(self) -> str:
        if self.model == "declared":
            return f"GPU {self.index} (declared with --gpus; no NVML)"
        kind = f", {self.kind}" if self.kind else ""
        return f"GPU {self.index} {self.uuid} ({self.model}, {self.memory_mb} MiB{kind})"


def read_inventory(setting: str | None) -> list[Gpu]:
    """The GPUs jobs may use, by `--gpus`: None (all NVML shows), "0,2" (those indices), "N"
    (the first N; N declared devices when NVML is missing)."""
    found, why = nvml_gpus()
    if setting is None or setting.strip() == "":
        if why:
            log.info("GPUs: none (%s)", why)
        return found
    wanted = setting.strip()
    if "," in wanted or not wanted.isdigit():
        indices = [int(part) for part in wanted.split(",") if part.strip()]
        chosen = [gpu for gpu in found if gpu.index in indices] if found else []
        if not found:
            log.warning("GPUs: NVML is missing (%s); declaring devices %s", why, indices)
            chosen = [Gpu(i, str(i), "declared") for i in indices]
        return chosen
    count = int(wanted)
    if found or count == 0:
        return found[:count]
    log.warning("GPUs: NVML is missing (%s); declaring %d devices 0..%d", why, count, count - 1)
    return [Gpu(i, str(i), "declared") for i in range(count)]


def nvml_gpus() -> tuple[list[Gpu], str]:
    """The NVIDIA GPUs NVML sees, or ([], why not)."""
    try:
        import pynvml
    except ImportError:
        return [], "nvidia-ml-py is not installed (pip install 'vertexd[gpu]')"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return [], f"NVML: {exc}"
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            device = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(device).total // (1024 * 1024)
            name = pynvml.nvmlDeviceGetName(device)
            model = name.decode() if isinstance(name, bytes) else str(name)
            uuid = pynvml.nvmlDeviceGetUUID(device)
            gpus.append(
                Gpu(index, uuid.decode() if isinstance(uuid, bytes) else uuid, model, memory)
            )
        return gpus, ""
    finally:
        pynvml.nvmlShutdown()


class GpuPool:
    """Which job holds which device (by id); thread-safe (admission runs in worker threads)."""

    def __init__(self, gpus: Iterable[Gpu]) -> None:
        self.gpus = {gpu.id: gpu for gpu in sorted(gpus, key=lambda gpu: gpu.index)}
        self._held: dict[str, str] = {}  # device id -> the job holding it
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.gpus)

    def take(self, job: str, wanted: list[tuple[int, str]]) -> list[list[str]] | None:
        """Device ids for each replica of `job` (`wanted`: (count, acceleratorType) per
        replica), devices of the type asked first; None, taking nothing, when too few are
        free."""
        with self._lock:
            free = [gpu for key, gpu in self.gpus.items() if key not in self._held]
            if sum(count for count, _ in wanted) > len(free):
                return None
            given = []
            for count, kind in wanted:
                mine = sorted(free, key=lambda gpu: gpu.kind != kind)[:count]
                for gpu in mine:
                    free.remove(gpu)
                    self._held[gpu.id] = job
                given.append([gpu.id for gpu in sorted(mine, key=lambda gpu: gpu.index)])
            return given

    def hold(self, job: str, devices: Iterable[str]) -> list[str]:
        """Hold what a reattached job had; returns the devices another job holds already
        (a restart must never give one device twice)."""
        clashes = []
        with self._lock:
            for key in devices:
                if self._held.get(key, job) != job:
                    clashes.append(key)
                elif key in self.gpus:
                    self._held[key] = job
        return clashes

    def give_back(self, job: str) -> None:
        with self._lock:
            self._held = {key: holder for key, holder in self._held.items() if holder != job}

    def describe(self, devices: Iterable[str]) -> str:
        return "; ".join(self.gpus[key].describe() if key in self.gpus else key for key in devices)


def fair_share(wanted: list[tuple[str, int, str]], total: int) -> list[tuple[int, str]]:
    """What each replica can get of `total` devices, in order: all it asks for while they
    last (a job larger than the host runs alone, with what there is)."""
    shares, left = [], total
    for _, count, kind in wanted:
        shares.append((min(count, left), kind))
        left -= shares[-1][0]
    return shares


def assignment_lines(
    pool: GpuPool, wanted: list[tuple[str, int, str]], given: list[list[str]]
) -> list[str]:
    """For the job's log: which devices each replica got, and where the type differs."""
    lines = []
    for (task, count, kind), ids in zip(wanted, given, strict=True):
        if not count:
            continue
        lines.append(f"{task} gets {pool.describe(ids) or 'no GPU'}.")
        kinds = {pool.gpus[key].kind for key in ids if key in pool.gpus} - {""}
        if kind and kinds and kind not in kinds:
            lines.append(
                f"WARNING: {task} asks for {kind}; this host has {', '.join(sorted(kinds))}: "
                "it runs on those (--strict-resources refuses such jobs instead)."
            )
        if len(ids) < count:
            lines.append(f"WARNING: {task} asks for {count} GPUs and gets {len(ids)}.")
    return lines
