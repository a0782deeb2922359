"""The Ray backend's warm actor pool on the real three-node cluster (ray_support.py): idle
actors on every node that reserve nothing, a claim that succeeds once, one replica per actor
at a time, given back and refilled after use, ended with a group removed under them, adopted
after a `kill -9`, retired at a clean stop, none when 0."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Server, python_job
from probe_package import probe_wheel
from ray_support import NODES, warm_actors

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

PROBE = "gs://test-bucket/packages/probe-0.1-py3-none-any.whl"
WARM = "vertexd-warm-"
SERVER_NAMESPACE = "vertexd"  # where `vertexd serve` keeps its actors
RESOURCES = ("CPU", "memory", "GPU")


def idle_per_node(namespace: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in warm_actors(namespace).values():
        if state["idle"]:
            counts[state["nodeId"]] = counts.get(state["nodeId"], 0) + 1
    return counts


def alive_nodes() -> set[str]:
    return {node["NodeID"] for node in ray.nodes() if node["Alive"]}


def eventually(check: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, what or check
        time.sleep(0.2)
    return value


def full(namespace: str, size: int) -> Callable[[], bool]:
    return lambda: idle_per_node(namespace) == {node: size for node in alive_nodes()}


def free_resources() -> dict[str, float]:
    free = ray.available_resources()
    return {key: float(free.get(key, 0)) for key in RESOURCES}


@pytest.fixture
def backend(ray_cluster: Any, tmp_path: Path) -> Iterator[Any]:
    """A Ray backend in this process (already connected) with 2 warm actors per node."""
    from vertexd.backends.ray.backend import RayBackend
    from vertexd.backends.ray.config import RayConfig

    namespace = f"vertexd-pool-{tmp_path.name[-12:]}"
    config = RayConfig(
        namespace=namespace, start_deadline_seconds=3, envs_dir=tmp_path, buckets_dir=tmp_path
    )
    made = RayBackend(config)
    yield made
    made.close()


def test_idle_actors_fill_every_node_reserve_nothing_and_retire(backend: Any) -> None:
    namespace = backend.config.namespace
    eventually(full(namespace, 2), what="2 idle warm actors on each of the 3 nodes")
    assert len(alive_nodes()) == len(NODES)
    # An idle actor holds nothing: all the cluster's CPUs, memory and GPUs are still free
    # (nothing else runs now).
    assert free_resources() == {
        key: float(ray.cluster_resources().get(key, 0)) for key in RESOURCES
    }
    backend.close()
    eventually(lambda: not warm_actors(namespace), timeout=15, what="idle actors retired")


def test_a_warm_actor_is_claimed_once_and_lives_only_as_long_as_its_group(backend: Any) -> None:
    from vertexd.launch.plan import Resources

    namespace = backend.config.namespace
    eventually(full(namespace, 2))
    node = sorted(alive_nodes())[0]
    name, actor = backend._pool.take(node)
    group = ray.util.placement_group([{"CPU": 1}])
    assert group.wait(30)
    answers: list[Any] = []

    def claim() -> None:
        answers.append(ray.get(actor.claim.remote(group.id.hex(), "workerpool0-0", 1.0)))

    racers = [threading.Thread(target=claim) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    claimed = [answer for answer in answers if answer is not None]
    assert len(claimed) == 1 and claimed[0]["nodeId"] == node  # one replica per actor, ever
    assert ray.get(actor.retire.remote()) is False  # a claimed actor is not retired
    time.sleep(3)  # longer than its start deadline: the group it never started in goes
    eventually(lambda: name not in warm_actors(namespace), timeout=15, what="claimed actor ended")
    eventually(full(namespace, 2), what="the node refilled")

    # A job's reservation claims warm actors; removing its group ends them.
    reservation = backend.reserve("2001", [("workerpool0-0", Resources(2, 1))] * 3)
    used = {replica.actor for replica in reservation.handle.replicas}
    assert all(actor_name.startswith(WARM) for actor_name in used)
    ray.util.remove_placement_group(
        ray.util.get_placement_group(reservation.handle.placement_group)
    )
    eventually(lambda: not used & set(warm_actors(namespace)), timeout=15, what="actors ended")


def three_replicas(pid_dir: Path, sleep: float) -> dict:
    job = python_job("probe.task", PROBE, ["--pid-dir", str(pid_dir), "--sleep", str(sleep)])
    pool = job["jobSpec"]["workerPoolSpecs"][0]
    job["jobSpec"]["workerPoolSpecs"] = [pool, {**pool, "replicaCount": "2"}]
    return job


def replica_parents(pid_dir: Path, count: int) -> dict[str, int]:
    """Each replica's parent process (the actor that runs it), by pid file."""
    files = eventually(lambda: len(found := list(pid_dir.glob("*.json"))) >= count and found)
    # Recorded by the replica itself: a short one may be gone before it is looked at.
    return {path.name: json.loads(path.read_text())["parent"] for path in files}


@pytest.fixture
def ray_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    probe_wheel(home / "buckets" / "test-bucket" / "packages")
    return home


def test_replicas_start_in_warm_actors_one_each_and_the_pool_refills(
    ray_cluster: Any, ray_home: Path, tmp_path: Path
) -> None:
    server = Server(ray_home, "--backend", "ray", "--ray-address", ray_cluster.address)
    server.start()
    try:
        eventually(full(SERVER_NAMESPACE, 2), what="the server's pool full")
        before = {state["pid"] for state in warm_actors(SERVER_NAMESPACE).values()}
        dirs = [tmp_path / "a", tmp_path / "b"]
        names = []
        for pid_dir in dirs:  # two jobs of 3 replicas at once: all 6 warm actors
            pid_dir.mkdir()
            names.append(server.create(three_replicas(pid_dir, 3)).json()["name"])
        parents = [parent for d in dirs for parent in replica_parents(d, 3).values()]
        assert len(set(parents)) == 6  # never two replicas in one actor
        # The first job's three run in actors of the full pool; the second's may run in
        # refills if the first's were given back by then, but in warm ones (the logs, below).
        assert len(set(parents) & before) >= 3
        for name in names:
            assert server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")["state"] == (
                "JOB_STATE_SUCCEEDED"
            )
            starts = [e["text"] for e in server.logs(name) if "Starting" in e["text"]]
            assert len(starts) == 3 and all("in a warm actor" in text for text in starts)
        # Given back or refilled: each node has 2 idle actors again (given-back ones beyond
        # that were retired), and none is still held.
        eventually(full(SERVER_NAMESPACE, 2), what="the pool refilled")
        eventually(
            lambda: all(state["idle"] for state in warm_actors(SERVER_NAMESPACE).values()),
            timeout=15,
        )
        # and the next job's replicas run in them, one each, with nothing left of the last.
        again = tmp_path / "again"
        again.mkdir()
        name = server.create(three_replicas(again, 0)).json()["name"]
        parents = list(replica_parents(again, 3).values())
        assert server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")["state"] == (
            "JOB_STATE_SUCCEEDED"
        )
        assert len(set(parents)) == 3
        eventually(full(SERVER_NAMESPACE, 2), what="the pool refilled again")
        # A short job's actors are given back before any refill is made: the same processes.
        idle_pids = {state["pid"] for state in warm_actors(SERVER_NAMESPACE).values()}
        assert set(parents) <= idle_pids
    finally:
        server.stop()
    eventually(lambda: not warm_actors(SERVER_NAMESPACE), timeout=15, what="retired at stop")


def test_a_server_after_kill_9_adopts_the_idle_actors(ray_cluster: Any, ray_home: Path) -> None:
    server = Server(ray_home, "--backend", "ray", "--ray-address", ray_cluster.address)
    server.start()
    try:
        eventually(full(SERVER_NAMESPACE, 2))
        kept = set(warm_actors(SERVER_NAMESPACE))
        server.restart(kill=True)
        time.sleep(3)  # longer than a refill round
        assert set(warm_actors(SERVER_NAMESPACE)) == kept  # adopted, none made anew
    finally:
        server.stop()
    eventually(lambda: not warm_actors(SERVER_NAMESPACE), timeout=15, what="retired at stop")


def test_no_pool_when_0(ray_cluster: Any, ray_home: Path, tmp_path: Path) -> None:
    args = ("--backend", "ray", "--ray-address", ray_cluster.address, "--ray-warm-actors", "0")
    server = Server(ray_home, *args)
    server.start()
    try:
        name = server.create(three_replicas(tmp_path, 0)).json()["name"]
        assert server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")["state"] == (
            "JOB_STATE_SUCCEEDED"
        )
        starts = [e["text"] for e in server.logs(name) if "Starting" in e["text"]]
        assert len(starts) == 3 and not any("warm" in text for text in starts)
        assert not warm_actors(SERVER_NAMESPACE)
    finally:
        server.stop()
