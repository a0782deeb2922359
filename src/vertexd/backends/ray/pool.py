"""Warm replica actors: `size` idle actors kept on every live node, so that a replica starts
in a worker process that already runs instead of waiting for a new one (about a second).

An idle actor reserves nothing (`num_cpus=0`, no memory): the job's placement group still
holds the replica's resources, and `reserve` claims an idle actor on the node Ray placed
each bundle on. A claim succeeds once (the actor's own lock), so an actor runs one replica
at a time; the job's cleanup gives it back (`give_back`: its processes killed, idle again),
and a thread here makes new ones to refill each node meanwhile (more than `size` idle are
retired). Idle actors are named `vertexd-warm-...` and detached: a server started after a
`kill -9` adopts them; one that stops cleanly retires its idle ones.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

import ray
from ray.exceptions import RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from vertexd.backends.ray.actor import RemoteReplicaActor
from vertexd.backends.ray.config import RayConfig

log = logging.getLogger(__name__)

WARM_PREFIX = "vertexd-warm-"
REFILL_SECONDS = 2.0  # how often live nodes are listed when no claim wakes the refill sooner
# A node that still has an idle actor is refilled this long after its last claim, not at
# once: a new Ray worker costs about a second of CPU, which would slow the replica that was
# just placed there (on a small machine); a node with none left is refilled at once.
REFILL_DELAY_SECONDS = 1.0
STARTING_WAIT_SECONDS = 0.2  # the longest a new actor's answer waits to be collected
RETIRE_WAIT_SECONDS = 2.0

Warm = tuple[str, Any]  # an actor's name and its handle
# and the node it was made on ("" when adopted), and whether it is one given back
Starting = tuple[str, Any, str, bool]


class WarmPool:
    def __init__(self, config: RayConfig, actor_threads: int) -> None:
        self.config, self.size, self._threads = config, config.warm_actors_per_node, actor_threads
        self._idle: dict[str, list[Warm]] = {}  # by node id
        self._starting: dict[Any, Starting] = {}  # by their `state` call, until it answers
        self._lock = threading.Lock()
        self._wake, self._stopped = threading.Event(), threading.Event()
        self._taken: dict[str, float] = {}  # when each node's last idle actor was taken
        self._alive: set[str] = set()  # live node ids, as of `_nodes_checked`
        self._nodes_checked = 0.0
        self._thread = threading.Thread(target=self._keep, name="ray-warm-pool", daemon=True)

    def start(self) -> None:
        if self.size > 0:
            self._adopt()
            self._refill()  # here: the first remote calls set up Ray's serializers (imports)
            self._thread.start()

    def take(self, node_id: str) -> Warm | None:
        """An idle actor on that node for the caller to claim, or None; the node is refilled."""
        with self._lock:
            idle = self._idle.get(node_id) or []
            taken = idle.pop() if idle else None
            self._taken[node_id] = time.monotonic()
        self._wake.set()
        return taken

    def give_back(self, name: str, handle: Any, node_id: str) -> Any:
        """A job is done with this actor: it kills what its replica left and is idle again
        (kept, or retired when its node has enough). The release call, to wait for."""
        release = handle.release.remote()
        with self._lock:
            self._starting[release] = (name, handle, node_id, True)
        return release

    def close(self) -> None:
        """Stop refilling and retire the idle actors (one claimed meanwhile stays)."""
        self._stopped.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with self._lock:
            actors = [a for idle in self._idle.values() for a in idle]
            actors += [(name, handle) for name, handle, _, _ in self._starting.values()]
            self._idle.clear()
            self._starting.clear()
        retiring = [handle.retire.remote() for _, handle in actors]
        if retiring:
            ray.wait(retiring, num_returns=len(retiring), timeout=RETIRE_WAIT_SECONDS)

    # -- inside ------------------------------------------------------------------------------
    def _adopt(self) -> None:
        """Idle actors an earlier server left (it died): asked, and kept if still idle."""
        for entry in ray.util.list_named_actors(all_namespaces=True):
            name, namespace = entry["name"], entry["namespace"]
            if namespace != self.config.namespace or not name.startswith(WARM_PREFIX):
                continue
            try:
                handle = ray.get_actor(name, namespace=namespace)
            except ValueError:
                continue
            self._starting[handle.state.remote()] = (name, handle, "", False)

    def _keep(self) -> None:
        """Refill, then wait for a new actor to answer (collected at once) or for a claim."""
        while not self._stopped.is_set():
            try:
                self._refill()
                with self._lock:
                    waiting = list(self._starting)
                if waiting:
                    ray.wait(waiting, num_returns=1, timeout=STARTING_WAIT_SECONDS)
                    self._collect()
                else:
                    self._wake.wait(self._next_refill())
                    self._wake.clear()
            except Exception:  # the cluster is away for now, say: the pool tries again later
                log.exception("warm Ray actors")
                self._stopped.wait(REFILL_SECONDS)

    def _collect(self) -> None:
        """Actors whose `state` answered are idle on their node now (or were claimed)."""
        with self._lock:
            waiting = list(self._starting)
        if not waiting:
            return
        ready, _ = ray.wait(waiting, num_returns=len(waiting), timeout=0)
        for ref in ready:
            with self._lock:
                name, handle, _, given_back = self._starting.pop(ref)
            try:
                state = ray.get(ref)
            except RayError as exc:
                log.info("warm Ray actor %s did not start: %s", name, exc)
                continue
            if not state["idle"]:
                if given_back:  # its replica's processes would not end: not to be reused
                    ray.kill(handle)
                continue  # else claimed meanwhile: it belongs to a job now
            with self._lock:
                idle = self._idle.setdefault(state["nodeId"], [])
                extra = len(idle) >= self.size  # adopted or given back beyond the size
                if not extra:
                    idle.append((name, handle))
            if extra:
                handle.retire.remote()

    def _refill(self) -> None:
        now = time.monotonic()
        if self._wake.is_set() or now - self._nodes_checked >= REFILL_SECONDS:
            self._wake.clear()
            self._alive = {str(node["NodeID"]) for node in ray.nodes() if node.get("Alive")}
            self._nodes_checked = now
        alive = self._alive
        with self._lock:
            for node in set(self._idle) - alive:
                del self._idle[node]  # their actors died with the node
            starting: dict[str, int] = {}
            for _, _, node, _ in self._starting.values():
                starting[node] = starting.get(node, 0) + 1
            wanted = {
                node: self.size - len(self._idle.get(node, [])) - starting.get(node, 0)
                for node in alive
                if not self._idle.get(node)
                or now >= self._taken.get(node, 0) + REFILL_DELAY_SECONDS
            }
        for node, missing in wanted.items():
            for _ in range(missing):
                self._create(node)

    def _next_refill(self) -> float:
        """Seconds until a deferred refill is due, at most REFILL_SECONDS."""
        with self._lock:
            due = [at + REFILL_DELAY_SECONDS for at in self._taken.values()]
        waits = [at - time.monotonic() for at in due if at > time.monotonic()]
        return min([REFILL_SECONDS, *waits])

    def _create(self, node_id: str) -> None:
        name = f"{WARM_PREFIX}{node_id[:8]}-{secrets.token_hex(4)}"
        handle: Any = RemoteReplicaActor.options(
            name=name,
            namespace=self.config.namespace,
            lifetime="detached",
            max_concurrency=self._threads,
            max_restarts=0,
            num_cpus=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        ).remote(None, self.config.start_deadline_seconds)
        with self._lock:
            self._starting[handle.state.remote()] = (name, handle, node_id, False)


def is_warm(actor_name: str) -> bool:
    return actor_name.startswith(WARM_PREFIX)
