"""The rules of model versions, on a model's `Versions` in memory (the store writes them).

Ids are 1, 2, ... per model and never given twice. An alias names one version of a model:
claiming it takes it from the version that had it. `default` is always on exactly one
version: the first version gets it, a later one only when it asks (the SDK asks unless
`is_default_version=False`), and it cannot be removed, only moved.
"""

from __future__ import annotations

from typing import Any

from vertexd.core.errors import FailedPrecondition, InvalidArgument
from vertexd.resources.model import ALIAS, OUTPUT_ONLY_FIELDS
from vertexd.store.models import DEFAULT, Versions


def check_aliases(aliases: list[str], field: str) -> None:
    for alias in aliases:
        if alias.isdigit() or not ALIAS.fullmatch(alias):
            raise InvalidArgument(
                f"Invalid version alias {alias!r}: an alias matches [a-z][a-zA-Z0-9-]{{0,126}}"
                "[a-z0-9-] and is not a number.",
                field,
            )
    if len(set(aliases)) != len(aliases):
        raise InvalidArgument("A version alias is given twice.", field)


def version_body(
    wanted: dict[str, Any],
    name: str,
    version_id: int,
    times: tuple[str, str],
    pipeline: str = "",
) -> dict[str, Any]:
    """A new version: what the client sent, less output-only fields, plus what vertexd sets
    (`times`: now, and when the model was created; `pipeline`: the one that trained it)."""
    stamp, created = times
    body = {k: v for k, v in wanted.items() if k not in OUTPUT_ONLY_FIELDS}
    if pipeline:
        body["trainingPipeline"] = pipeline
    body.update(
        name=name,
        versionId=str(version_id),
        versionAliases=list(wanted.get("versionAliases") or []),
        createTime=created,
        updateTime=stamp,
        versionCreateTime=stamp,
        versionUpdateTime=stamp,
    )
    return body


def add_version(versions: Versions, body: dict[str, Any], stamp: str) -> None:
    """Add `body` (its versionId is `versions.next_id()`); its aliases are taken from others."""
    version_id = int(body["versionId"])
    aliases = list(body.get("versionAliases") or [])
    if not versions.bodies and DEFAULT not in aliases:
        aliases.insert(0, DEFAULT)  # the first version is the default one
    versions.bodies[version_id] = {**body, "versionAliases": []}
    versions.last_id = max(versions.last_id, version_id)
    claim(versions, version_id, aliases, stamp)


def claim(versions: Versions, version_id: int, aliases: list[str], stamp: str) -> None:
    """Put `aliases` on the version, taking each from the version that holds it."""
    for other_id, other in versions.bodies.items():
        held = other.get("versionAliases") or []
        if other_id != version_id and set(held) & set(aliases):
            kept = [a for a in held if a not in aliases]
            versions.bodies[other_id] = touched(other, stamp, versionAliases=kept)
    body = versions.bodies[version_id]
    held = list(body.get("versionAliases") or [])
    added = held + [a for a in aliases if a not in held]
    if added != held:
        versions.bodies[version_id] = touched(body, stamp, versionAliases=added)


def merge_aliases(versions: Versions, version_id: int, changes: list[str], stamp: str) -> None:
    """MergeVersionAliases: `name` adds an alias, `-name` removes it (never `default`)."""
    removed = [c[1:] for c in changes if c.startswith("-")]
    added = [c for c in changes if not c.startswith("-")]
    check_aliases(removed + added, "version_aliases")
    if DEFAULT in removed:
        raise InvalidArgument(
            "The default alias cannot be removed: add it to another version instead.",
            "version_aliases",
        )
    if set(removed) & set(added):
        raise InvalidArgument("An alias is both added and removed.", "version_aliases")
    claim(versions, version_id, added, stamp)
    body = versions.bodies[version_id]
    held = body.get("versionAliases") or []
    if set(held) & set(removed):
        kept = [a for a in held if a not in removed]
        versions.bodies[version_id] = touched(body, stamp, versionAliases=kept)


def remove_version(versions: Versions, version_id: int) -> None:
    """DeleteModelVersion: neither the default version nor the only one."""
    name = f"{versions.name}@{version_id}"
    if len(versions.bodies) == 1:
        raise FailedPrecondition(
            f"Cannot delete {name}: it is the only version of the model; delete the Model."
        )
    if versions.default_id() == version_id:
        raise FailedPrecondition(
            f"Cannot delete {name}: it is the default version; "
            "move the default alias to another version first."
        )
    del versions.bodies[version_id]
    versions.removed.add(version_id)


def touched(body: dict[str, Any], stamp: str, **changes: Any) -> dict[str, Any]:
    return {**body, **changes, "updateTime": stamp, "versionUpdateTime": stamp}
