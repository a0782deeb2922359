"""Runs launch plans on a Ray cluster: one placement group per job, one actor per replica.

reserve() places the job's placement group (bounded wait) and gives every replica an actor:
a warm one (pool.py) claimed on the node of its bundle, else a new one in its bundle (always
for GPUs: Ray hands a GPU's id only to an actor that holds it). Each actor holds a free port
on its node, so the addresses in the plan's CLUSTER_SPEC / MASTER_ADDR are real. submit()
starts the replicas' commands. poll() never blocks: each replica always has one outstanding
`drain` call (a long poll in the actor), and poll only collects those that have answered,
appends their lines to the job log, and asks again. A drain that fails with ActorDiedError
makes the replica `lost`, which fails the gang. stop() signals the process groups inside the
actors; cleanup() kills what is left, then the actors, then removes the placement group.

The handle (saved in the store) names the placement group and the actors, which are named
and detached: a restarted server finds them again with `ray.get_actor` and goes on draining.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import ActorUnavailableError, RayActorError, RayError
from ray.util.placement_group import PlacementGroup
from ray.util.scheduling_strategies import (
    NodeAffinitySchedulingStrategy,
    PlacementGroupSchedulingStrategy,
)

from vertexd.backends.base import Handle, LaunchError, ReplicaStatus, Reservation, Unwatch
from vertexd.backends.handles import RayHandle, RayReplica
from vertexd.backends.process_group import kill_group
from vertexd.backends.ray.actor import RELEASE_WAIT_SECONDS, RemoteReplicaActor
from vertexd.backends.ray.config import RayConfig
from vertexd.backends.ray.placement import (
    GB,
    Bundle,
    bundle,
    bundle_nodes,
    gpu_labels,
    never_fits,
    no_room_message,
    node_totals,
    remove_group,
    remove_groups_named,
    reserve_group,
)
from vertexd.backends.ray.pool import WarmPool, is_warm
from vertexd.core.joblog import format_line, open_for_append
from vertexd.launch.plan import LaunchPlan, ReplicaPlan, Resources

log = logging.getLogger(__name__)

ACTOR_THREADS = 8  # start, drain and signal run side by side in one actor
KILL_WAIT_SECONDS = 2.0  # cleanup: how long the actors may take to kill their groups

_kill_group = ray.remote(num_cpus=0)(kill_group)


@dataclass
class _Replica:
    """What this server knows of one replica; rebuilt from the handle after a restart."""

    task: str
    actor: Any  # ray.actor.ActorHandle, None once it is known to be gone
    node_id: str = ""
    node_ip: str = ""
    drain: Any = None  # the outstanding drain call's ObjectRef
    final: ReplicaStatus | None = None
    pid: int | None = None
    start_time: float | None = None


class RayBackend:
    name = "ray"
    runs_images = False

    def __init__(self, config: RayConfig) -> None:
        self.config = config
        connect(config)
        self._replicas: dict[str, _Replica] = {}  # by actor name
        self._pool = WarmPool(config, ACTOR_THREADS) if config.warm_actors_per_node else None
        if self._pool is not None:
            self._pool.start()

    def close(self) -> None:
        """The server stops: its idle warm actors end (jobs' actors stay, to be found again)."""
        if self._pool is not None:
            self._pool.close()

    def capacity(self) -> Resources:
        """The cluster's resources now, the budget the scheduler admits jobs against."""
        total = ray.cluster_resources()
        cpus, memory, gpus = (float(total.get(key, 0)) for key in ("CPU", "memory", "GPU"))
        return Resources(cpus, memory / GB, int(gpus))

    # -- reserve -----------------------------------------------------------------------------
    def reserve(self, job_id: str, replicas: list[tuple[str, Resources]]) -> Reservation:
        prefix = f"vertexd-{job_id}-"
        remove_groups_named(prefix)
        nodes = node_totals()
        labels = gpu_labels(nodes)
        tasks, bundles = [t for t, _ in replicas], [bundle(r, labels) for _, r in replicas]
        problem = never_fits(tasks, bundles, nodes)
        if problem:
            raise LaunchError(problem)
        name, timeout = prefix + secrets.token_hex(3), self.config.placement_timeout_seconds
        group = reserve_group(name, bundles, timeout)
        if group is None:
            raise LaunchError(no_room_message(bundles, timeout))
        try:
            placed = self._place_actors(group, name, tasks, bundles)
        except RayError as exc:
            remove_group(name)  # and with it every actor
            raise LaunchError(f"The Ray actors of the job's replicas did not start: {exc}") from exc
        entries, probes = [], [probe for _, _, probe in placed]
        for task, (actor_name, actor, probe) in zip(tasks, placed, strict=True):
            entry = RayReplica(
                task=task, actor=actor_name, node_ip=probe["nodeIp"], node_id=probe["nodeId"]
            )
            self._replicas[entry.actor] = _Replica(task, actor, entry.node_id, entry.node_ip)
            entries.append(entry)
        handle = RayHandle(
            namespace=self.config.namespace, placement_group=name, replicas=tuple(entries)
        )
        return Reservation(tuple(f"{p['nodeIp']}:{p['port']}" for p in probes), handle)

    def _place_actors(
        self, group: PlacementGroup, name: str, tasks: list[str], bundles: list[Bundle]
    ) -> list[tuple[str, Any, dict[str, Any]]]:
        """Each replica's actor (name, handle) and its probe, in bundle order."""
        nodes = bundle_nodes(group) if self._pool is not None else {}
        calls: list[tuple[str, Any, Any, bool]] = []  # name, handle, its probe call, warm
        for index, (task, one) in enumerate(zip(tasks, bundles, strict=True)):
            taken = None
            if self._pool is not None and not one.get("GPU") and index in nodes:
                taken = self._pool.take(nodes[index])
            if taken is not None:
                claim = taken[1].claim.remote(group.id.hex(), task, one.get("CPU", 1.0))
                calls.append((*taken, claim, True))
            else:
                calls.append(self._cold_actor(group, index, f"{name}-{task}", task, one))
        placed, timeout = [], self.config.actor_start_seconds
        try:
            for index, (actor_name, actor, call, warm) in enumerate(calls):
                probe = _claimed(call, timeout) if warm else ray.get(call, timeout=timeout)
                if probe is None:  # claimed by another server, or gone: a new one instead
                    task = tasks[index]
                    cold = self._cold_actor(group, index, f"{name}-{task}", task, bundles[index])
                    actor_name, actor, call, warm = cold
                    probe = ray.get(call, timeout=timeout)
                placed.append((actor_name, actor, probe))
        except RayError:
            for _, actor, _, warm in calls:
                if warm:  # not in the group, so not removed with it
                    ray.kill(actor)
            raise
        return placed

    def _cold_actor(
        self, group: PlacementGroup, index: int, name: str, task: str, one: Bundle
    ) -> tuple[str, Any, Any, bool]:
        """A new actor in the bundle, and its probe call."""
        placement = PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=index)
        options: dict[str, Any] = {
            "name": name,
            "namespace": self.config.namespace,
            "lifetime": "detached",
            "max_concurrency": ACTOR_THREADS,
            "max_restarts": 0,
            "num_cpus": one.get("CPU", 0.0),
            "num_gpus": one.get("GPU", 0.0),
            "scheduling_strategy": placement,
        }
        if one.get("memory"):
            options["memory"] = int(one["memory"])
        actor: Any = RemoteReplicaActor.options(**options).remote(
            task, self.config.start_deadline_seconds
        )
        return name, actor, actor.probe.remote(), False

    def release(self, reservation: Reservation) -> None:
        if isinstance(reservation.handle, RayHandle):
            self.cleanup(reservation.handle)

    # -- run ---------------------------------------------------------------------------------
    def submit(self, plan: LaunchPlan) -> Handle:
        if any(replica.image is not None for replica in plan.replicas):
            raise LaunchError("The Ray backend runs no container images.")
        reserved = plan.reservation.handle if plan.reservation else None
        if not isinstance(reserved, RayHandle):
            raise LaunchError("The plan was not reserved on the Ray backend.")
        handle = reserved.model_copy(update={"log": str(plan.log_path)})
        for replica, entry in zip(plan.replicas, handle.replicas, strict=True):
            state = self._replica(entry)
            if state.actor is None:
                raise LaunchError(f"The Ray actor of {replica.task_name} is gone.")
            state.actor.start.remote(self._start_spec(replica))
            state.drain = state.actor.drain.remote(self.config.drain_wait_seconds)
        return handle

    def _start_spec(self, replica: ReplicaPlan) -> dict[str, Any]:
        recipe = replica.python_env
        return {
            "argv": list(replica.argv),
            "env": dict(replica.env),
            "workdir": str(replica.workdir),
            "pythonEnv": None
            if recipe is None
            else {
                "executorImageUri": recipe.executor_image_uri,
                "packageUris": list(recipe.package_uris),
            },
            "builder": self.config.builder(),
        }

    def poll(self, handle: Handle) -> list[ReplicaStatus]:
        handle = _own(handle)
        states = [self._replica(entry) for entry in handle.replicas]
        waiting = [s.drain for s in states if s.final is None and s.drain is not None]
        ready = set(ray.wait(waiting, num_returns=len(waiting), timeout=0)[0]) if waiting else set()
        for state in states:
            if state.final is None and state.drain in ready:
                self._collect(state, Path(handle.log))
        return [state.final or ReplicaStatus(state.task, True) for state in states]

    def _collect(self, state: _Replica, log_path: Path) -> None:
        """Take a drain's answer: write its lines, and record the end or ask again."""
        try:
            answer = ray.get(state.drain)
        except ActorUnavailableError:  # unreachable for now; Ray says whether it comes back
            answer = {"lines": [], "done": False}
        except RayActorError as exc:
            self._lose(state, f"its Ray actor on {state.node_ip or 'its node'} died: {_why(exc)}")
            return
        except RayError as exc:
            self._lose(state, f"its Ray actor failed: {_why(exc)}")
            return
        _append(log_path, answer["lines"])
        state.pid = answer.get("pid") or state.pid
        state.start_time = answer.get("startTime") or state.start_time
        if not answer["done"]:
            state.drain = state.actor.drain.remote(self.config.drain_wait_seconds)
        elif answer["exitCode"] is None:
            state.final = ReplicaStatus(state.task, False, lost=True, detail=answer["error"])
        else:
            state.final = ReplicaStatus(state.task, False, exit_code=int(answer["exitCode"]))

    def _lose(self, state: _Replica, detail: str) -> None:
        state.final = ReplicaStatus(state.task, False, lost=True, detail=detail)
        state.actor, state.drain = None, None
        if state.pid is not None and state.node_id:
            # Ray kills none of a dead actor's children: what the replica started still runs.
            on_node = NodeAffinitySchedulingStrategy(state.node_id, soft=False)
            _kill_group.options(scheduling_strategy=on_node).remote(
                state.pid, state.start_time, True
            )

    def watch(self, handle: Handle, changed: Callable[[], None]) -> Unwatch | None:
        return None  # polled: each poll collects the drains that have answered

    # -- stop --------------------------------------------------------------------------------
    def stop(self, handle: Handle, force: bool) -> None:
        for entry in _own(handle).replicas:
            state = self._replica(entry)
            if state.final is None and state.actor is not None:
                state.actor.signal.remote(force)

    def cleanup(self, handle: Handle) -> None:
        """Kill the process groups, then the actors (warm ones are given back to the pool),
        then remove the placement group."""
        handle = _own(handle)
        states = [self._replica(entry) for entry in handle.replicas]
        kills = [s.actor.signal.remote(True) for s in states if s.actor is not None]
        if kills:
            ray.wait(kills, num_returns=len(kills), timeout=KILL_WAIT_SECONDS)
        releases = []
        for entry, state in zip(handle.replicas, states, strict=True):
            if state.actor is None:
                continue
            if self._pool is not None and is_warm(entry.actor):
                releases.append(self._pool.give_back(entry.actor, state.actor, state.node_id))
                continue
            try:
                ray.kill(state.actor)
            except (RayError, ValueError) as exc:
                log.info("Ray actor of %s: %s", state.task, exc)
        if releases:  # before the group goes, which would end them
            ray.wait(releases, num_returns=len(releases), timeout=RELEASE_WAIT_SECONDS + 1)
        remove_group(handle.placement_group)
        for entry in handle.replicas:
            self._replicas.pop(entry.actor, None)

    # -- state -------------------------------------------------------------------------------
    def _replica(self, entry: RayReplica) -> _Replica:
        """This server's record of a replica; after a restart, found again by actor name."""
        name = entry.actor
        state = self._replicas.get(name)
        if state is not None:
            return state
        state = _Replica(entry.task, None, entry.node_id, entry.node_ip)
        try:
            state.actor = ray.get_actor(name, namespace=self.config.namespace)
        except ValueError:
            detail = "its Ray actor is gone (its node or the Ray cluster was lost)"
            state.final = ReplicaStatus(state.task, False, lost=True, detail=detail)
        else:
            state.drain = state.actor.drain.remote(self.config.drain_wait_seconds)
        self._replicas[name] = state
        return state


def connect(config: RayConfig) -> None:
    """Join the Ray cluster (once per process) as a driver in the backend's namespace."""
    if ray.is_initialized():
        return
    address = config.address or os.environ.get("RAY_ADDRESS") or None
    try:
        ray.init(
            address=address,
            namespace=config.namespace,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RuntimeError(f"Cannot connect to the Ray cluster at {address}: {exc}") from exc


def _claimed(call: Any, timeout: float) -> dict[str, Any] | None:
    """A warm actor's answer to its claim: its probe, or None when it cannot be had."""
    try:
        answer: dict[str, Any] | None = ray.get(call, timeout=timeout)
    except RayActorError:
        return None
    return answer


def _own(handle: Handle) -> RayHandle:
    if not isinstance(handle, RayHandle):
        raise TypeError(f"not a Ray handle: {handle.kind}")
    return handle


def _why(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _append(log_path: Path, lines: list[Any]) -> None:
    if not lines:
        return
    fd = open_for_append(log_path)
    try:
        os.write(fd, b"".join(format_line(task, stream, text) for task, stream, text in lines))
    finally:
        os.close(fd)
