"""The real three-node Ray cluster the Ray tests share (127.0.0.2, .3 and .4), started once per
session, and this process connected to it as a driver. A pytest plugin (conftest's
`pytest_plugins`), so every module can ask for `ray_cluster`.

On a loaded 2-core machine the head's GCS can take longer than Ray's 30 s default to write
its port file, or a node its first RPC: the wait is longer here, and a start that still
fails is stopped and retried once after printing the GCS's own log (which says why).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

NODES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
GCS_WAIT_SECONDS = "120"


def node_args(address: str) -> dict[str, Any]:
    # Logical sizes: each node takes a few n1-standard-4 replicas (4 vCPUs, 15 GB). The last
    # node declares two T4 GPUs (Ray hands them out by id; nothing here needs CUDA).
    sizes: dict[str, Any] = {"node_ip_address": address, "num_cpus": 8, "memory": 64 * 10**9}
    if address == NODES[-1]:
        sizes.update(num_gpus=2, resources={"accelerator_type:T4": 1})
    return sizes


def warm_actors(namespace: str | None = None) -> dict[str, dict[str, Any]]:
    """The live warm actors (of a namespace, or of all), by name: their `state` (idle or not,
    node, the placement group id a claimed one runs in, pid)."""
    import ray

    found = {}
    for entry in ray.util.list_named_actors(all_namespaces=True):
        if not entry["name"].startswith("vertexd-warm-"):
            continue
        if namespace is not None and entry["namespace"] != namespace:
            continue
        try:
            actor = ray.get_actor(entry["name"], namespace=entry["namespace"])
            found[entry["name"]] = ray.get(actor.state.remote(), timeout=10)
        except (ValueError, ray.exceptions.RayError):
            continue  # ending
    return found


def _start_cluster() -> Any:
    """The cluster, or what of it started stopped again and the error raised."""
    from ray.cluster_utils import Cluster

    cluster = Cluster()  # its first node is the head
    try:
        cluster.add_node(**node_args(NODES[0]), include_dashboard=False)
        for address in NODES[1:]:
            cluster.add_node(**node_args(address))
        cluster.wait_for_nodes()
    except Exception:
        cluster.shutdown()
        raise
    return cluster


def _print_gcs_logs() -> None:
    for path in sorted(Path("/tmp/ray").glob("session_*/logs/gcs_server.*"))[-2:]:
        text = path.read_text(errors="replace").splitlines()
        print(f"--- {path} (last 30 lines)", *text[-30:], sep="\n")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A real multi-node Ray cluster, and this process connected to it as a driver."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_gcs_server_port_wait_time_s", GCS_WAIT_SECONDS)
    started = time.monotonic()
    try:
        cluster = _start_cluster()
    except Exception as exc:  # Ray raises a bare Exception when a node's start times out
        print(f"Ray cluster did not start ({exc}); retrying once")
        _print_gcs_logs()
        ray.shutdown()
        cluster = _start_cluster()
    print(f"Ray cluster of {len(NODES)} nodes started in {time.monotonic() - started:.1f} s")
    ray.init(address=cluster.address, namespace="vertexd-tests", log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()
