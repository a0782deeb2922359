"""CustomJob and its spec (google.cloud.aiplatform.v1.CustomJob), as models."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from pydantic import Field

from vertexd.resources.common import (
    Duration,
    EnvVar,
    GcsDestination,
    Int32,
    Int64,
    Status,
    Timestamp,
    VertexModel,
    enum_field,
)


class JobState(IntEnum):
    JOB_STATE_UNSPECIFIED = 0
    JOB_STATE_QUEUED = 1
    JOB_STATE_PENDING = 2
    JOB_STATE_RUNNING = 3
    JOB_STATE_SUCCEEDED = 4
    JOB_STATE_FAILED = 5
    JOB_STATE_CANCELLING = 6
    JOB_STATE_CANCELLED = 7
    JOB_STATE_PAUSED = 8
    JOB_STATE_EXPIRED = 9
    JOB_STATE_UPDATING = 10
    JOB_STATE_PARTIALLY_SUCCEEDED = 11


class AcceleratorType(IntEnum):
    ACCELERATOR_TYPE_UNSPECIFIED = 0
    NVIDIA_TESLA_K80 = 1
    NVIDIA_TESLA_P100 = 2
    NVIDIA_TESLA_V100 = 3
    NVIDIA_TESLA_P4 = 4
    NVIDIA_TESLA_T4 = 5
    TPU_V2 = 6
    TPU_V3 = 7
    NVIDIA_TESLA_A100 = 8
    NVIDIA_A100_80GB = 9
    TPU_V4_POD = 10
    NVIDIA_L4 = 11
    TPU_V5_LITEPOD = 12
    NVIDIA_H100_80GB = 13
    NVIDIA_H100_MEGA_80GB = 14
    NVIDIA_H200_141GB = 15
    NVIDIA_B200 = 16
    NVIDIA_GB200 = 17
    NVIDIA_RTX_PRO_6000 = 18


class MachineSpec(VertexModel):
    machine_type: str | None = None
    accelerator_type: enum_field(AcceleratorType) | None = None  # type: ignore[valid-type]
    accelerator_count: Int32 | None = None
    tpu_topology: str | None = None
    reservation_affinity: dict[str, Any] | None = None


class DiskSpec(VertexModel):
    boot_disk_type: str | None = None
    boot_disk_size_gb: Int32 | None = None


class NfsMount(VertexModel):
    server: str | None = None
    path: str | None = None
    mount_point: str | None = None


class ContainerSpec(VertexModel):
    image_uri: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    env: list[EnvVar] | None = None


class PythonPackageSpec(VertexModel):
    executor_image_uri: str | None = None
    package_uris: list[str] | None = None
    python_module: str | None = None
    args: list[str] | None = None
    env: list[EnvVar] | None = None


class WorkerPoolSpec(VertexModel):
    container_spec: ContainerSpec | None = None
    python_package_spec: PythonPackageSpec | None = None
    machine_spec: MachineSpec | None = None
    replica_count: Int64 | None = None
    nfs_mounts: list[NfsMount] | None = None
    disk_spec: DiskSpec | None = None

    def is_empty(self) -> bool:
        """Vertex skips a pool given as `{}` (a placeholder that keeps pool positions)."""
        return not self.model_dump(exclude_none=True)


class Scheduling(VertexModel):
    timeout: Duration | None = None
    restart_job_on_worker_restart: bool | None = None
    strategy: str | int | None = None
    disable_retries: bool | None = None
    max_wait_duration: Duration | None = None


class CustomJobSpec(VertexModel):
    persistent_resource_id: str | None = None
    worker_pool_specs: list[WorkerPoolSpec] | None = None
    scheduling: Scheduling | None = None
    service_account: str | None = None
    network: str | None = None
    reserved_ip_ranges: list[str] | None = None
    base_output_directory: GcsDestination | None = None
    protected_artifact_location_id: str | None = None
    tensorboard: str | None = None
    enable_web_access: bool | None = None
    enable_dashboard_access: bool | None = None
    experiment: str | None = None
    experiment_run: str | None = None
    models: list[str] | None = None


class CustomJob(VertexModel):
    name: str | None = None
    display_name: str | None = None
    job_spec: CustomJobSpec | None = None
    state: enum_field(JobState) | None = None  # type: ignore[valid-type]
    create_time: Timestamp | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    update_time: Timestamp | None = None
    error: Status | None = None
    labels: dict[str, str] | None = None
    encryption_spec: dict[str, Any] | None = None
    web_access_uris: dict[str, str] | None = Field(default=None)


OUTPUT_ONLY_FIELDS = (
    "name",
    "state",
    "create_time",
    "start_time",
    "end_time",
    "update_time",
    "error",
)
