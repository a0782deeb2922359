"""Placement groups: one per job, one bundle per replica, spread over nodes when possible.

Ray leaves a placement group that cannot be placed pending forever. So before creating one,
its bundles are checked against what the cluster's nodes have in total (one that can never
fit fails at once), and the wait for free resources is bounded; both failures say what is
missing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import ray
from ray.util.placement_group import PlacementGroup, placement_group, remove_placement_group

from vertexd.launch.plan import Resources

Bundle = dict[str, float]
GB = 1e9  # Resources count memory in GB of 10^9 bytes, Ray in bytes
_NAMES = {"CPU": "CPU", "memory": "GB memory", "GPU": "GPU"}


GPU_TYPE_SHARE = 0.001  # of a node's `accelerator_type:MODEL` resource: a label, not a count


def bundle(resources: Resources, labels: Collection[str] = ()) -> Bundle:
    """A replica's bundle; a replica with no machine spec still takes one CPU. GPUs of a
    model some node is labelled with (`accelerator_type:T4`, Ray's own labels) go there."""
    wanted = {
        "CPU": resources.cpus,
        "memory": float(int(resources.memory_gb * GB)),
        "GPU": float(resources.gpus),
    }
    label = f"accelerator_type:{resources.gpu_model}"
    if resources.gpus and resources.gpu_model and label in labels:
        wanted[label] = GPU_TYPE_SHARE
    return {key: value for key, value in wanted.items() if value > 0} or {"CPU": 1.0}


def gpu_labels(nodes: dict[str, Bundle]) -> set[str]:
    """The GPU model labels the cluster's nodes carry."""
    return {key for have in nodes.values() for key in have if key.startswith("accelerator_type:")}


def describe(amounts: Bundle) -> str:
    parts = []
    for key, name in _NAMES.items():
        value = amounts.get(key, 0.0)
        if value > 0:
            parts.append(f"{value / GB if key == 'memory' else value:g} {name}")
    return ", ".join(parts) or "nothing"


def _sum(amounts: Iterable[Bundle]) -> Bundle:
    total: Bundle = {}
    for one in amounts:
        for key, value in one.items():
            total[key] = total.get(key, 0.0) + value
    return total


def _short(need: Bundle, have: Bundle) -> Bundle:
    return {
        key: value - have.get(key, 0.0) for key, value in need.items() if value > have.get(key, 0.0)
    }


def node_totals() -> dict[str, Bundle]:
    """Each live node's address and everything it has (used or not)."""
    return {
        str(node["NodeManagerAddress"]): {k: float(v) for k, v in node["Resources"].items()}
        for node in ray.nodes()
        if node.get("Alive")
    }


def never_fits(tasks: list[str], bundles: list[Bundle], nodes: dict[str, Bundle]) -> str | None:
    """Why these bundles can never be placed on these nodes, or None when they might be."""
    summary = "; ".join(f"{ip}: {describe(have)}" for ip, have in nodes.items()) or "no live node"
    for task, one in zip(tasks, bundles, strict=True):
        if not any(not _short(one, have) for have in nodes.values()):
            best = {key: max((h.get(key, 0.0) for h in nodes.values()), default=0.0) for key in one}
            missing = describe(_short(one, best)) if _short(one, best) else "all of it on one node"
            return (
                f"The replica {task} asks for {describe(one)}, more than any node of the Ray "
                f"cluster has (nodes: {summary}). Missing: {missing}."
            )
    need, have = _sum(bundles), _sum(nodes.values())
    if _short(need, have):
        return (
            f"The job's replicas ask for {describe(need)} together; the whole Ray cluster has "
            f"{describe(have)}. Missing: {describe(_short(need, have))}."
        )
    return None


def no_room_message(bundles: list[Bundle], waited: float) -> str:
    need = _sum(bundles)
    free = {key: float(value) for key, value in ray.available_resources().items()}
    short = _short(need, free)
    missing = describe(short) if short else "none in total, but not on few enough nodes"
    return (
        f"The Ray cluster had no room for the job's replicas within {waited:g} s (they ask for "
        f"{describe(need)}; free now: {describe(free)}). Missing: {missing}."
    )


def reserve_group(name: str, bundles: list[Bundle], timeout: float) -> PlacementGroup | None:
    """A placement group that is placed within `timeout` seconds, or None (and none left)."""
    group = placement_group(bundles, strategy="SPREAD", name=name, lifetime="detached")
    if group.wait(timeout_seconds=timeout):
        return group
    remove_placement_group(group)
    return None


def bundle_nodes(group: PlacementGroup) -> dict[int, str]:
    """The node id each bundle of a placed group was put on, by bundle index."""
    table = ray.util.placement_group_table(group)
    return {int(index): str(node) for index, node in table.get("bundles_to_node_id", {}).items()}


def remove_group(name: str) -> None:
    try:
        group = ray.util.get_placement_group(name)
    except ValueError:
        return  # gone already
    if group is not None:
        remove_placement_group(group)


def remove_groups_named(prefix: str) -> None:
    """What an earlier attempt at the same job left (a server that died while reserving)."""
    for info in ray.util.placement_group_table().values():
        name = str(info.get("name") or "")
        if name.startswith(prefix) and info.get("state") != "REMOVED":
            remove_group(name)
