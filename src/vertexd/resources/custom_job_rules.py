"""Validation of a CustomJobSpec, with the field paths and messages Vertex uses."""

from __future__ import annotations

from vertexd.core.errors import InvalidArgument
from vertexd.resources.common import duration_seconds
from vertexd.resources.custom_job import AcceleratorType, CustomJobSpec, WorkerPoolSpec
from vertexd.resources.machines import machine_shape

MAX_WORKER_POOLS = 4
MAX_ENV_VARS = 100
MAX_PACKAGE_URIS = 100


def validate_job_spec(spec: CustomJobSpec | None, path: str = "job_spec") -> None:
    if spec is None:
        raise InvalidArgument("is required.", path)
    pools = spec.worker_pool_specs or []
    if not pools:
        raise InvalidArgument(
            "At least one worker pool must be specified.", f"{path}.worker_pool_specs"
        )
    if len(pools) > MAX_WORKER_POOLS:
        raise InvalidArgument(
            f"At most {MAX_WORKER_POOLS} worker pools are supported, got {len(pools)}.",
            f"{path}.worker_pool_specs",
        )
    if pools[0].is_empty():
        raise InvalidArgument(
            "The first worker pool (the chief) must not be empty.", f"{path}.worker_pool_specs[0]"
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
        raise InvalidArgument(
            f"The first worker pool (the chief) must have exactly 1 replica, got {replicas}.",
            f"{path}.replica_count",
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
        raise InvalidArgument(
            f'Machine type "{machine.machine_type}" is not supported.', f"{path}.machine_type"
        )
    has_type = machine.accelerator_type not in (None, AcceleratorType.ACCELERATOR_TYPE_UNSPECIFIED)
    count = machine.accelerator_count or 0
    if count < 0:
        raise InvalidArgument("must not be negative.", f"{path}.accelerator_count")
    if has_type and count == 0:
        raise InvalidArgument(
            "accelerator_count must be set when accelerator_type is set.",
            f"{path}.accelerator_count",
        )
    if count > 0 and not has_type:
        raise InvalidArgument(
            "accelerator_type must be set when accelerator_count is set.",
            f"{path}.accelerator_type",
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


# Job-wide fields that are stored and returned as sent, and why nothing comes of them here.
UNUSED_SPEC_FIELDS = {
    "persistent_resource_id": "the job runs on this host's resources",
    "service_account": "replicas run as the user that runs vertexd",
    "network": "replicas use this host's network",
    "enable_web_access": "vertexd opens no interactive shell",
    "enable_dashboard_access": "vertexd serves no dashboard for a job",
}


def unsupported_notes(spec: CustomJobSpec) -> list[str]:
    """Fields accepted for compatibility that this service does not act on."""
    notes = [
        f"job_spec.{field} is stored but not acted on: {why}."
        for field, why in UNUSED_SPEC_FIELDS.items()
        if getattr(spec, field) not in (None, False, "")
    ]
    for index, pool in active_pools(spec):
        if pool.nfs_mounts:
            notes.append(f"worker_pool_specs[{index}].nfs_mounts is not supported and is ignored.")
    return notes
