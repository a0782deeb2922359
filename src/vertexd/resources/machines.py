"""Vertex AI training machine types: vCPUs, memory and attached GPUs.

Used to validate `machineSpec.machineType` and to charge a job against the host's budget.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MachineShape:
    cpus: int
    memory_gb: float
    gpus: int = 0


# family -> (GB per vCPU, allowed vCPU counts)
_GENERAL_FAMILIES: dict[str, tuple[float, tuple[int, ...]]] = {
    "e2-standard": (4.0, (4, 8, 16, 32)),
    "e2-highmem": (8.0, (2, 4, 8, 16)),
    "e2-highcpu": (1.0, (16, 32)),
    "n1-standard": (3.75, (4, 8, 16, 32, 64, 96)),
    "n1-highmem": (6.5, (2, 4, 8, 16, 32, 64, 96)),
    "n1-highcpu": (0.9, (16, 32, 64, 96)),
    "n2-standard": (4.0, (4, 8, 16, 32, 48, 64, 80)),
    "n2-highmem": (8.0, (2, 4, 8, 16, 32, 48, 64, 80)),
    "n2-highcpu": (1.0, (16, 32, 48, 64, 80, 96)),
    "n2d-standard": (4.0, (4, 8, 16, 32, 48, 64, 80, 96, 128, 224)),
    "c2-standard": (4.0, (4, 8, 16, 30, 60)),
    "c2d-standard": (4.0, (4, 8, 16, 32, 56, 112)),
    "c3-standard": (4.0, (4, 8, 22, 44, 88, 176)),
}

# Machines that come with GPUs attached: name -> shape.
_GPU_MACHINES: dict[str, MachineShape] = {
    **{f"a2-highgpu-{n}g": MachineShape(12 * n, 85.0 * n, n) for n in (1, 2, 4, 8)},
    "a2-megagpu-16g": MachineShape(96, 1360.0, 16),
    **{f"a2-ultragpu-{n}g": MachineShape(12 * n, 170.0 * n, n) for n in (1, 2, 4, 8)},
    "a3-highgpu-1g": MachineShape(26, 234.0, 1),
    "a3-highgpu-2g": MachineShape(52, 468.0, 2),
    "a3-highgpu-4g": MachineShape(104, 936.0, 4),
    "a3-highgpu-8g": MachineShape(208, 1872.0, 8),
    "a3-megagpu-8g": MachineShape(208, 1872.0, 8),
    "a3-ultragpu-8g": MachineShape(224, 2952.0, 8),
    "g2-standard-4": MachineShape(4, 16.0, 1),
    "g2-standard-8": MachineShape(8, 32.0, 1),
    "g2-standard-12": MachineShape(12, 48.0, 1),
    "g2-standard-16": MachineShape(16, 64.0, 1),
    "g2-standard-24": MachineShape(24, 96.0, 2),
    "g2-standard-32": MachineShape(32, 128.0, 1),
    "g2-standard-48": MachineShape(48, 192.0, 4),
    "g2-standard-96": MachineShape(96, 384.0, 8),
}

_OTHER_MACHINES: dict[str, MachineShape] = {
    "m1-ultramem-40": MachineShape(40, 961.0),
    "m1-ultramem-80": MachineShape(80, 1922.0),
    "m1-ultramem-160": MachineShape(160, 3844.0),
    "m1-megamem-96": MachineShape(96, 1433.6),
    "cloud-tpu": MachineShape(96, 340.0),
}


def _build_catalogue() -> dict[str, MachineShape]:
    table: dict[str, MachineShape] = {}
    for family, (gb_per_cpu, sizes) in _GENERAL_FAMILIES.items():
        for cpus in sizes:
            table[f"{family}-{cpus}"] = MachineShape(cpus, gb_per_cpu * cpus)
    table.update(_GPU_MACHINES)
    table.update(_OTHER_MACHINES)
    return table


MACHINE_TYPES: dict[str, MachineShape] = _build_catalogue()
DEFAULT_MACHINE_TYPE = "n1-standard-4"


# acceleratorType -> the GPU's short model name, as schedulers label nodes (Ray's
# `accelerator_type:T4`): what a cluster can be asked for.
GPU_MODELS: dict[str, str] = {
    "NVIDIA_TESLA_K80": "K80",
    "NVIDIA_TESLA_P100": "P100",
    "NVIDIA_TESLA_V100": "V100",
    "NVIDIA_TESLA_P4": "P4",
    "NVIDIA_TESLA_T4": "T4",
    "NVIDIA_TESLA_A100": "A100",
    "NVIDIA_A100_80GB": "A100",
    "NVIDIA_L4": "L4",
    "NVIDIA_H100_80GB": "H100",
    "NVIDIA_H100_MEGA_80GB": "H100",
    "NVIDIA_H200_141GB": "H200",
    "NVIDIA_B200": "B200",
    "NVIDIA_GB200": "GB200",
    "NVIDIA_RTX_PRO_6000": "RTX-PRO-6000",
}


def machine_shape(machine_type: str) -> MachineShape | None:
    return MACHINE_TYPES.get(machine_type)


# The GPUs each machine family takes on Vertex AI training (its documentation of GPUs per
# machine series): N1 takes the older attachable GPUs; A2, A3 and G2 come with their own.
_N1_GPUS = frozenset(
    {"NVIDIA_TESLA_K80", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_V100", "NVIDIA_TESLA_P4",
     "NVIDIA_TESLA_T4"}
)  # fmt: skip
_FAMILY_ACCELERATORS: tuple[tuple[str, frozenset[str]], ...] = (
    ("n1-", _N1_GPUS),
    ("a2-ultragpu-", frozenset({"NVIDIA_A100_80GB"})),
    ("a2-", frozenset({"NVIDIA_TESLA_A100"})),
    ("a3-megagpu-", frozenset({"NVIDIA_H100_MEGA_80GB"})),
    ("a3-ultragpu-", frozenset({"NVIDIA_H200_141GB"})),
    ("a3-", frozenset({"NVIDIA_H100_80GB"})),
    ("g2-", frozenset({"NVIDIA_L4"})),
    ("cloud-tpu", frozenset({"TPU_V2", "TPU_V3"})),
)


def accelerators_for(machine_type: str) -> frozenset[str]:
    """The accelerator types Vertex attaches to `machine_type` (none for CPU-only families)."""
    for prefix, accelerators in _FAMILY_ACCELERATORS:
        if machine_type.startswith(prefix):
            return accelerators
    return frozenset()
