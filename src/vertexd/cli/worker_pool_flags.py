"""`--worker-pool-spec=machine-type=M,...`: parsing, gcloud's rules, WorkerPoolSpec messages.

Everything here is a pure function of the flag values; staging a local package (which
touches the disk) happens in `packaging.py` and arrives here as a `LocalPackage`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vertexd.cli.common import InvalidFlagValue
from vertexd.cli.flag_values import parse_dict, split_list
from vertexd.resources.custom_job import AcceleratorType

FLAG = "--worker-pool-spec"
WorkerPoolFlag = dict[str, Any]


def _semicolon_list(raw: str) -> list[str]:
    return split_list(raw, FLAG, delimiter=";")


SPEC_KEYS: dict[str, Callable[[str], Any]] = {
    "replica-count": int,
    "machine-type": str,
    "accelerator-type": str,
    "accelerator-count": int,
    "container-image-uri": str,
    "executor-image-uri": str,
    "output-image-uri": str,
    "python-module": str,
    "script": str,
    "local-package-path": str,
    "requirements": _semicolon_list,
    "extra-dirs": _semicolon_list,
    "extra-packages": _semicolon_list,
}
LOCAL_PACKAGE_ONLY_KEYS = {"script", "requirements", "extra-packages", "extra-dirs"}
SOFTWARE_KEYS = {"executor-image-uri", "container-image-uri", "python-module"}
SOFTWARE_KEYS |= LOCAL_PACKAGE_ONLY_KEYS


@dataclass(frozen=True)
class LocalPackage:
    """The first pool's `local-package-path`, built and staged: what every pool then runs."""

    executor_image_uri: str
    python_module: str
    package_uris: list[str] = field(default_factory=list)


def parse_worker_pool_flags(values: Iterable[str]) -> list[WorkerPoolFlag]:
    """Each `--worker-pool-spec` value as a dict; an empty value keeps a pool's place."""
    return [parse_dict(raw, FLAG, SPEC_KEYS) for raw in values]


def accelerator_type_names() -> list[str]:
    return sorted(t.name for t in AcceleratorType if t.name.startswith(("NVIDIA", "TPU")))


# -- gcloud's rules for --worker-pool-spec -------------------------------------------------------


def validate_worker_pool_flags(specs: Sequence[WorkerPoolFlag]) -> None:
    if not specs[0]:
        raise InvalidFlagValue(
            FLAG, "Empty value is not allowed for the first `--worker-pool-spec` flag."
        )
    for spec in specs:
        if spec:
            _check_hardware(spec)
    uses_local_package = "local-package-path" in specs[0]
    if uses_local_package:
        _check_local_package_software(specs[0])
    else:
        _check_software(specs[0])
    for spec in specs[1:]:
        if spec:
            _check_later_pool_software(spec, uses_local_package)


def _check_hardware(spec: WorkerPoolFlag) -> None:
    if "machine-type" not in spec:
        raise InvalidFlagValue(FLAG, "Key [machine-type] required in dict arg but not provided.")
    if "accelerator-count" in spec and "accelerator-type" not in spec:
        raise InvalidFlagValue(
            FLAG, "Key [accelerator-type] required as [accelerator-count] is specified."
        )
    accelerator = spec.get("accelerator-type")
    if accelerator and accelerator not in accelerator_type_names():
        available = ", ".join(accelerator_type_names())
        raise InvalidFlagValue(
            FLAG,
            f"Found invalid value of [accelerator-type]: {accelerator}. "
            f"Available values are [{available}].",
        )


def _check_local_package_software(spec: WorkerPoolFlag) -> None:
    path = os.path.abspath(os.path.expanduser(spec["local-package-path"]))
    if not os.path.isdir(path):
        raise InvalidFlagValue(FLAG, f"Directory '{path}' is not found.")
    if "executor-image-uri" not in spec:
        raise InvalidFlagValue(
            FLAG, "Key [executor-image-uri] is required when `local-package-path` is specified."
        )
    if ("python-module" in spec) + ("script" in spec) != 1:
        raise InvalidFlagValue(
            FLAG,
            "Exactly one of keys [python-module, script] is required when "
            "`local-package-path` is specified.",
        )


def _check_software(spec: WorkerPoolFlag) -> None:
    has_executor = "executor-image-uri" in spec
    has_container = "container-image-uri" in spec
    has_module = "python-module" in spec
    if has_executor + has_container != 1:
        raise InvalidFlagValue(
            FLAG, "Exactly one of keys [executor-image-uri, container-image-uri] is required."
        )
    if has_container and has_module:
        raise InvalidFlagValue(
            FLAG, "Key [python-module] is not allowed together with key [container-image-uri]."
        )
    if has_executor and not has_module:
        raise InvalidFlagValue(FLAG, "Key [python-module] is required.")
    _reject_keys(
        LOCAL_PACKAGE_ONLY_KEYS & spec.keys(),
        "Only allow to specify together with `local-package-path` in the first "
        "`--worker-pool-spec` flag",
    )


def _check_later_pool_software(spec: WorkerPoolFlag, uses_local_package: bool) -> None:
    if uses_local_package:
        _reject_keys(
            SOFTWARE_KEYS & spec.keys(),
            "A local package has been specified in the first `--worker-pool-spec` flag and to "
            "be used for all workers, do not specify these keys elsewhere",
        )
        return
    if "local-package-path" in spec:
        raise InvalidFlagValue(
            FLAG, "Key [local-package-path] is only allowed in the first `--worker-pool-spec` flag."
        )
    _check_software(spec)


def _reject_keys(keys: set[str], reason: str) -> None:
    if keys:
        raise InvalidFlagValue(FLAG, f"Keys [{', '.join(sorted(keys))}] are not allowed: {reason}.")


# -- WorkerPoolSpec messages (camelCase, as on the wire) -----------------------------------------


def build_worker_pool_specs(
    specs: Sequence[WorkerPoolFlag],
    python_package_uris: Sequence[str] | None = None,
    local_package: LocalPackage | None = None,
) -> list[dict[str, Any]]:
    """WorkerPoolSpecs from validated flags; an empty flag value becomes an empty `{}` pool."""
    return [
        _build_pool(spec, python_package_uris or [], local_package) if spec else {}
        for spec in specs
    ]


def _build_pool(
    spec: WorkerPoolFlag, python_package_uris: Sequence[str], local_package: LocalPackage | None
) -> dict[str, Any]:
    pool: dict[str, Any] = {
        "machineSpec": _machine_spec(spec),
        "replicaCount": str(spec.get("replica-count", 1)),
    }
    if local_package is not None:
        pool["pythonPackageSpec"] = {
            "executorImageUri": local_package.executor_image_uri,
            "packageUris": [*local_package.package_uris, *python_package_uris],
            "pythonModule": local_package.python_module,
        }
    elif spec.get("container-image-uri"):
        pool["containerSpec"] = {"imageUri": spec["container-image-uri"]}
    elif python_package_uris or spec.get("executor-image-uri") or spec.get("python-module"):
        package: dict[str, Any] = {"packageUris": list(python_package_uris)}
        if spec.get("executor-image-uri"):
            package["executorImageUri"] = spec["executor-image-uri"]
        if spec.get("python-module"):
            package["pythonModule"] = spec["python-module"]
        pool["pythonPackageSpec"] = package
    return pool


def _machine_spec(spec: WorkerPoolFlag) -> dict[str, Any]:
    machine: dict[str, Any] = {"machineType": spec.get("machine-type")}
    if spec.get("accelerator-type"):
        machine["acceleratorType"] = spec["accelerator-type"]
        machine["acceleratorCount"] = int(spec.get("accelerator-count", 1))
    return machine
