"""A CustomJobSpec from `--config FILE` (YAML, camelCase) and the flags that override it."""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from vertexd.cli.common import InvalidFlagValue
from vertexd.resources.custom_job import CustomJobSpec

CONFIG_FLAG = "--config"


def load_config(path: Path) -> dict[str, Any]:
    """The YAML file as a CustomJobSpec dict; `workerPoolSpecs` may be one mapping or a list."""
    try:
        text = path.expanduser().read_text()
    except OSError as error:
        message = f"Unable to read file [{path}]: {error.strerror}."
        raise InvalidFlagValue(CONFIG_FLAG, message) from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        message = f"Failed to parse YAML from [{path}]: {error}"
        raise InvalidFlagValue(CONFIG_FLAG, message) from None
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise InvalidFlagValue(
            CONFIG_FLAG, f"[{path}] must hold a YAML mapping: the fields of a CustomJobSpec."
        )
    pools = config.get("workerPoolSpecs")
    if isinstance(pools, dict):
        config["workerPoolSpecs"] = [pools]
    unknown = unknown_fields(config, CustomJobSpec)
    if unknown:
        raise InvalidFlagValue(
            CONFIG_FLAG,
            f"Unrecognized fields in the YAML config file: [{', '.join(unknown)}]. The file "
            "holds a CustomJobSpec with camelCase field names (keys with underscores are invalid).",
        )
    return config


def unknown_fields(value: Any, model: type[BaseModel], path: str = "") -> list[str]:
    """Paths of the keys in `value` that are not camelCase fields of `model` (recursively)."""
    if isinstance(value, list):
        found: list[str] = []
        for index, item in enumerate(value):
            found += unknown_fields(item, model, f"{path}[{index}]")
        return found
    if not isinstance(value, dict):
        return []
    by_alias = {info.alias or name: info for name, info in model.model_fields.items()}
    found = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        info = by_alias.get(key)
        if info is None:
            found.append(where)
            continue
        nested = _model_in(info.annotation)
        if nested is not None:
            found += unknown_fields(item, nested, where)
    return found


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The message type inside `X | None`, `list[X]` ...; None for scalars and free maps."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is dict:
        return None
    if origin in (list, typing.Union, types.UnionType, typing.Annotated):
        for argument in typing.get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None


def validate_config_pools(config: dict[str, Any]) -> None:
    """Each pool of the file runs either a container or a Python package (`{}` keeps a place)."""
    for pool in config.get("workerPoolSpecs") or []:
        if pool == {}:
            continue
        pool = pool if isinstance(pool, dict) else {}
        package = pool.get("pythonPackageSpec") or {}
        container = pool.get("containerSpec") or {}
        uses_package = bool(package.get("executorImageUri") or package.get("pythonModule"))
        uses_container = bool(container.get("imageUri"))
        if uses_package == uses_container:
            raise InvalidFlagValue(
                CONFIG_FLAG,
                "Exactly one of fields [pythonPackageSpec, containerSpec] is required for a "
                "[workerPoolSpecs] in the YAML config file.",
            )


def build_job_spec(
    config: dict[str, Any] | None,
    worker_pools: list[dict[str, Any]] | None,
    args: Sequence[str] | None = None,
    command: Sequence[str] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Flags over the file: pools replace `workerPoolSpecs`; `--args` goes to every pool,
    `--command` to every container pool; other overrides (camelCase) are set when not None."""
    spec = copy.deepcopy(config) if config else {}
    for key, value in overrides.items():
        if value is not None:
            spec[key] = value
    if worker_pools:
        spec["workerPoolSpecs"] = worker_pools
    for pool in spec.get("workerPoolSpecs") or []:
        if not isinstance(pool, dict):
            continue
        if args:
            for software in ("containerSpec", "pythonPackageSpec"):
                if pool.get(software) is not None:
                    pool[software]["args"] = list(args)
        if command and pool.get("containerSpec") is not None:
            pool["containerSpec"]["command"] = list(command)
    return spec


def build_custom_job(
    display_name: str,
    job_spec: dict[str, Any],
    labels: dict[str, str] | None = None,
    encryption_spec: dict[str, str] | None = None,
) -> dict[str, Any]:
    job: dict[str, Any] = {"displayName": display_name, "jobSpec": job_spec}
    if labels:
        job["labels"] = labels
    if encryption_spec:
        job["encryptionSpec"] = encryption_spec
    return job
