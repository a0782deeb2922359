"""Prebuilt training images (executorImageUri) -> the Python packages that stand in for them.

The catalogue is data, in executors.json next to this module. An image URI matches on its last
path segment, NAME.MAJOR-MINOR with an optional .pyNNN/.cpNNN suffix, whatever the registry in
front of it and whatever the tag or digest after it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_IMAGE = re.compile(r"(?P<name>[a-z][a-z0-9-]*)\.(?P<major>\d+)-(?P<minor>\d+)(?:\.(?:py|cp)\d+)?")


@dataclass(frozen=True)
class Executor:
    family: str  # the image name without version: "sklearn-cpu"
    version: str  # "1.0"
    requirements: tuple[str, ...]
    gpu: bool


@dataclass(frozen=True)
class _Entry:
    family: str
    version: str
    tag: str  # as written in the image: "2-17.py310"
    requirements: tuple[str, ...]
    unsupported: str  # why the image cannot run here; empty when it can


@dataclass(frozen=True)
class _Catalogue:
    registry: str
    entries: dict[tuple[str, str], _Entry]  # (family, version) -> entry
    aliases: dict[str, str]

    def find(self, family: str, version: str) -> _Entry | None:
        entry = self.entries.get((family, version))
        if entry is None and family in self.aliases:
            entry = self.entries.get((self.aliases[family], version))
        return entry

    def canonical(self, entry: _Entry) -> str:
        return f"{self.registry}/{entry.family}.{entry.tag}:latest"


def parse_image(image_uri: str) -> tuple[str, str] | None:
    """(family, version) of an image URI: "…/tf-cpu.2-15.py310:latest" -> ("tf-cpu", "2.15")."""
    reference = image_uri.strip().split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1].split(":", 1)[0]
    match = _IMAGE.fullmatch(last)
    if match is None:
        return None
    return match["name"], f"{int(match['major'])}.{int(match['minor'])}"


def lookup(image_uri: str) -> Executor | None:
    parsed = parse_image(image_uri)
    entry = _catalogue().find(*parsed) if parsed else None
    if parsed is None or entry is None or entry.unsupported:
        return None
    family = parsed[0]
    return Executor(family, entry.version, entry.requirements, family.endswith("-gpu"))


def known_images() -> list[str]:
    """Canonical URIs of the images vertexd can run, newest version first within a family."""
    catalogue = _catalogue()
    return [catalogue.canonical(e) for e in catalogue.entries.values() if not e.unsupported]


def unknown_image_message(image_uri: str) -> str:
    catalogue = _catalogue()
    parsed = parse_image(image_uri)
    entry = catalogue.find(*parsed) if parsed else None
    if entry is not None and entry.unsupported:
        return f"Executor image {image_uri} cannot run on vertexd: {entry.unsupported}"
    head = f"Executor image {image_uri} is not a known prebuilt training image."
    runnable = [e for e in catalogue.entries.values() if not e.unsupported]
    same_family = [e for e in runnable if parsed and e.family == parsed[0]]
    if same_family:
        versions = ", ".join(e.version for e in same_family)
        example = catalogue.canonical(same_family[0])
        return f"{head} Known {same_family[0].family} versions: {versions} (e.g. {example})."
    return (
        f"{head} Known, under any registry mirror and with any tag: {_summary(runnable)}. "
        f"For example {catalogue.canonical(runnable[0])}."
    )


def _summary(entries: list[_Entry]) -> str:
    """Families grouped by their versions: "sklearn-cpu, sklearn-gpu 1.6, 1.0; tf-cpu ..."."""
    versions: dict[str, list[str]] = {}
    for entry in entries:
        versions.setdefault(entry.family, []).append(entry.version)
    groups: dict[tuple[str, ...], list[str]] = {}
    for family, found in versions.items():
        groups.setdefault(tuple(found), []).append(family)
    parts = []
    for group, families in groups.items():
        shown = ", ".join(group) if len(group) <= 3 else f"{group[0]} to {group[-1]}"
        parts.append(f"{', '.join(families)} {shown}")
    return "; ".join(parts)


@cache
def _catalogue() -> _Catalogue:
    data = json.loads(resources.files("vertexd.launch").joinpath("executors.json").read_text())
    sets: dict[str, dict[str, Any]] = data["sets"]
    every_set = tuple(data.get("every_set", ()))  # what every prebuilt image offers
    entries: dict[tuple[str, str], _Entry] = {}
    for family, versions in data["images"].items():
        for tag, set_name in versions.items():
            parsed = parse_image(f"{family}.{tag}")
            assert parsed is not None, f"bad image {family}.{tag} in executors.json"
            chosen = sets[set_name]
            requirements = (*chosen.get("requirements", ()), *every_set)
            entries[parsed] = _Entry(
                family, parsed[1], tag, requirements, chosen.get("unsupported", "")
            )
    return _Catalogue(data["canonical_registry"], entries, dict(data.get("aliases", {})))
