"""Placement bundles and the messages that say what a Ray cluster lacks (no cluster needed)."""

from __future__ import annotations

import pytest

pytest.importorskip("ray")

from vertexd.backends.ray.placement import bundle, describe, never_fits  # noqa: E402
from vertexd.launch.plan import Resources  # noqa: E402

NODE = {"CPU": 8.0, "memory": 64e9, "node:127.0.0.2": 1.0}


def test_bundles_come_from_the_machine_spec() -> None:
    assert bundle(Resources(4, 15, 0)) == {"CPU": 4, "memory": 15e9}
    assert bundle(Resources(12, 85, 1, "NVIDIA_TESLA_A100")) == {
        "CPU": 12,
        "memory": 85e9,
        "GPU": 1,
    }
    assert bundle(Resources()) == {"CPU": 1.0}  # no machine spec: still one CPU
    assert describe({"CPU": 4, "memory": 15e9, "GPU": 2}) == "4 CPU, 15 GB memory, 2 GPU"


def test_a_replica_no_node_can_hold_is_named_with_what_is_missing() -> None:
    nodes = {"127.0.0.2": NODE, "127.0.0.3": {**NODE, "CPU": 2.0}}
    message = never_fits(["workerpool0-0"], [{"CPU": 4, "GPU": 1}], nodes)
    assert message is not None
    assert message.startswith("The replica workerpool0-0 asks for 4 CPU, 1 GPU, more than any")
    assert "127.0.0.3: 2 CPU, 64 GB memory" in message
    assert message.endswith("Missing: 1 GPU.")


def test_resources_spread_over_nodes_are_not_enough_for_one_replica() -> None:
    nodes = {"a": {"CPU": 8.0}, "b": {"GPU": 1.0}}
    message = never_fits(["workerpool1-0"], [{"CPU": 4, "GPU": 1}], nodes)
    assert message is not None and message.endswith("Missing: all of it on one node.")


def test_a_job_larger_than_the_whole_cluster() -> None:
    nodes = {"a": NODE, "b": NODE}
    bundles = [{"CPU": 6.0}] * 3
    message = never_fits(["workerpool0-0", "workerpool1-0", "workerpool1-1"], bundles, nodes)
    assert message == (
        "The job's replicas ask for 18 CPU together; the whole Ray cluster has 16 CPU, "
        "128 GB memory. Missing: 2 CPU."
    )
    assert never_fits(["workerpool0-0", "workerpool1-0"], bundles[:2], nodes) is None
