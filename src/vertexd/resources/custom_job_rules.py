"""Validation of a CustomJobSpec, with the field paths and messages Vertex uses."""

from __future__ import annotations

from typing import Any

from vertexd.core.errors import FoundErrors, InvalidArgument
from vertexd.resources.common import duration_seconds
from vertexd.resources.custom_job import AcceleratorType, CustomJobSpec, MachineSpec, WorkerPoolSpec
from vertexd.resources.machines import accelerators_for, machine_shape
from vertexd.resources.parsing import snake

MAX_WORKER_POOLS = 4
MAX_ENV_VARS = 100
MAX_PACKAGE_URIS = 100
DEFAULT_TIMEOUT_SECONDS = 7 * 24 * 3600  # Vertex's maximum running time when none is given
BOTH_OR_NONE = "Both `accelerator_type` and `accelerator_count` should be specified or none."


def validate_job_spec(spec: CustomJobSpec | None, path: str = "job_spec") -> None:
    if spec is None:
        raise InvalidArgument("is required.", path)
    pools = spec.worker_pool_specs or []
    if not pools:
        raise FoundErrors(
            f"{path}.worker_pool_specs",
            "At least one worker pool must be specified.",
            "The first pool runs the chief (replica workerpool0-0).",
        )
    if len(pools) > MAX_WORKER_POOLS:
        raise FoundErrors(
            f"{path}.worker_pool_specs",
            f"At most {MAX_WORKER_POOLS} worker pools are supported, got {len(pools)}.",
            "The pools are the chief, workers, parameter servers and evaluators, in that order.",
        )
    if pools[0].is_empty():
        raise FoundErrors(
            f"{path}.worker_pool_specs[0]",
            "The first worker pool (the chief) must not be empty.",
            "Only later pools may be given as {} to keep the positions of the pools after them.",
        )
    for index, pool in enumerate(pools):
        if not pool.is_empty():
            _validate_pool(pool, index, f"{path}.worker_pool_specs[{index}]")
    if spec.scheduling and spec.scheduling.timeout is not None:
        if duration_seconds(spec.scheduling.timeout) <= 0:
            raise InvalidArgument("must be positive.", f"{path}.scheduling.timeout")
    if spec.base_output_directory is not None:
        if not spec.base_output_directory.output_uri_prefix:
            raise InvalidArgument("is required.", f"{path}.base_output_directory.output_uri_prefix")


def _validate_pool(pool: WorkerPoolSpec, index: int, path: str) -> None:
    if (pool.container_spec is None) == (pool.python_package_spec is None):
        raise InvalidArgument(
            "Exactly one of container_spec or python_package_spec must be specified.", path
        )
    replicas = 1 if pool.replica_count is None else pool.replica_count
    if replicas < 1:
        raise InvalidArgument("must be at least 1.", f"{path}.replica_count")
    if index == 0 and replicas != 1:
        raise FoundErrors(
            f"{path}.replica_count",
            f"The first worker pool (the chief) must have exactly 1 replica, got {replicas}.",
            "Put the other replicas in worker_pool_specs[1].",
        )
    _validate_machine(pool, f"{path}.machine_spec")
    if pool.container_spec is not None:
        container = pool.container_spec
        if not container.image_uri:
            raise InvalidArgument("is required.", f"{path}.container_spec.image_uri")
        _validate_env(container.env, f"{path}.container_spec.env")
    if pool.python_package_spec is not None:
        package = pool.python_package_spec
        spec_path = f"{path}.python_package_spec"
        if not package.executor_image_uri:
            raise InvalidArgument("is required.", f"{spec_path}.executor_image_uri")
        if not package.python_module:
            raise InvalidArgument("is required.", f"{spec_path}.python_module")
        if len(package.package_uris or []) > MAX_PACKAGE_URIS:
            raise InvalidArgument(
                f"At most {MAX_PACKAGE_URIS} package URIs are allowed.", f"{spec_path}.package_uris"
            )
        _validate_env(package.env, f"{spec_path}.env")


def _validate_machine(pool: WorkerPoolSpec, path: str) -> None:
    machine = pool.machine_spec
    if machine is None or not machine.machine_type:
        raise InvalidArgument("Machine type must be specified.", f"{path}.machine_type")
    if machine_shape(machine.machine_type) is None:
        raise FoundErrors(
            f"{path}.machine_type",
            f'Machine type "{machine.machine_type}" is not supported.',
            "Use a Vertex AI training machine type, like n1-standard-4.",
        )
    has_type = machine.accelerator_type not in (None, AcceleratorType.ACCELERATOR_TYPE_UNSPECIFIED)
    count = machine.accelerator_count or 0
    if count < 0:
        raise InvalidArgument("must not be negative.", f"{path}.accelerator_count")
    if has_type != (count > 0):
        missing = "accelerator_count" if has_type else "accelerator_type"
        given = "accelerator_type" if has_type else "accelerator_count"
        hint = f"{missing} must be set when {given} is set."
        raise FoundErrors(f"{path}.accelerator_type", BOTH_OR_NONE, hint)
    if has_type:
        _check_attachable(machine)


def _check_attachable(machine: MachineSpec) -> None:
    assert machine.accelerator_type is not None and machine.machine_type
    accelerator, machine_type = AcceleratorType(machine.accelerator_type).name, machine.machine_type
    allowed = accelerators_for(machine_type)
    if accelerator in allowed:
        return
    takes = ", ".join(sorted(allowed)) if allowed else "no accelerators"
    raise InvalidArgument(
        f'Accelerator "{accelerator}" is not supported for machine type "{machine_type}". '
        f'Machine type "{machine_type}" takes {takes}.'
    )


def _validate_env(env: list | None, path: str) -> None:
    if env is None:
        return
    if len(env) > MAX_ENV_VARS:
        raise InvalidArgument(f"At most {MAX_ENV_VARS} environment variables are allowed.", path)
    for index, var in enumerate(env):
        if not var.name:
            raise InvalidArgument("is required.", f"{path}[{index}].name")


def active_pools(spec: CustomJobSpec) -> list[tuple[int, WorkerPoolSpec]]:
    """Pools that run, with their position (an empty `{}` pool is a placeholder)."""
    return [(i, p) for i, p in enumerate(spec.worker_pool_specs or []) if not p.is_empty()]


# Fields that change what a job does on Vertex, stored and returned as sent, and why nothing
# comes of them here (keys: JSON names in the job spec, then in each worker pool).
UNUSED_SPEC_FIELDS = {
    "persistentResourceId": "the job runs on this host's resources",
    "serviceAccount": "replicas run as the user that runs vertexd",
    "network": "replicas use this host's network",
    "reservedIpRanges": "replicas use this host's network",
    "pscInterfaceConfig": "replicas use this host's network, with no Private Service Connect",
    "enableWebAccess": "vertexd opens no interactive shell",
    "enableDashboardAccess": "vertexd serves no dashboard for a job",
    "tensorboard": "logs under AIP_TENSORBOARD_LOG_DIR are not uploaded to a TensorBoard",
    "experiment": "no Vertex AI Experiments run is recorded",
    "protectedArtifactLocationId": "artifacts stay where the job writes them",
}
# Scheduling strategies that change where and when a job runs (by name and by number).
OTHER_STRATEGIES = {"LOW_COST", "SPOT", "FLEX_START", 2, 4, 6}
UNUSED_POOL_FIELDS = {
    "nfsMounts": "nothing is mounted: replicas see this host's file systems",
    "lustreMounts": "nothing is mounted: replicas see this host's file systems",
}
UNUSED_MACHINE_FIELDS = {
    "gpuPartitionSize": "replicas get whole GPUs",
    "tpuTopology": "vertexd runs no TPUs",
    "reservationAffinity": "the job runs on this host's resources",
}


def unsupported_notes(spec: dict[str, Any]) -> list[str]:
    """One line per field a job spec (its stored JSON) uses that this service does not act on."""
    notes = _notes(spec, UNUSED_SPEC_FIELDS, "job_spec")
    strategy = (spec.get("scheduling") or {}).get("strategy")
    if strategy in OTHER_STRATEGIES:
        notes.append(
            f"job_spec.scheduling.strategy is stored but not acted on: {strategy} runs here like "
            "STANDARD, on this host's resources."
        )
    for index, pool in enumerate(spec.get("workerPoolSpecs") or []):
        path = f"job_spec.worker_pool_specs[{index}]"
        notes += _notes(pool or {}, UNUSED_POOL_FIELDS, path)
        notes += _notes(
            (pool or {}).get("machineSpec") or {}, UNUSED_MACHINE_FIELDS, f"{path}.machine_spec"
        )
    return notes


def _notes(fields: dict[str, Any], unused: dict[str, str], path: str) -> list[str]:
    return [
        f"{path}.{snake(name)} is stored but not acted on: {why}."
        for name, why in unused.items()
        if fields.get(name) not in (None, False, "", [], {})
    ]
