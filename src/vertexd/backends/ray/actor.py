"""The Ray actor that stands for one replica on the node Ray placed it on.

A cold actor is created by `reserve` in its placement group bundle for one replica. A warm
actor is created ahead of time on a node with no resources (`num_cpus=0`), idle, and is
claimed for one replica of a placed group (`claim`, which succeeds once); when the job is
done with it, `release` kills what the replica left and makes it idle again, and if its group
is removed without that, it ends. Either way it first holds a free port on its node (`probe`), then
`start` makes the replica's Python environment on this node when it has one, and runs the
replica's command as a `ReplicaProcess`. The server pulls output and the exit code with
`drain` (a long poll) and stops the process group with `signal`.

A threaded actor (`max_concurrency`), so that drain and signal run while start builds.
It is detached: it outlives a server restart, and the server finds it again by name.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import ray
from ray.util.placement_group import PlacementGroup

from vertexd.backends.local import host_env
from vertexd.backends.ray.process import ReplicaProcess

GROUP_CHECK_SECONDS = 2.0  # how often a claimed warm actor checks that its group still stands
RELEASE_WAIT_SECONDS = 5.0  # how long release waits for the replica's processes to end


class ReplicaActor:
    def __init__(self, task_name: str | None, start_deadline_seconds: float) -> None:
        """task_name None: a warm actor, idle until `claim`."""
        self.replica = ReplicaProcess(task_name or "")
        self._deadline = start_deadline_seconds
        self._claim_lock = threading.Lock()
        self._claimed = task_name is not None
        self._group = ""  # a warm actor's placement group (its id, in hex) once claimed
        self._threads = 0  # a warm actor's replica's CPUs (its OMP_NUM_THREADS)
        self._claims = 0  # claims and releases so far: which one a watch thread belongs to
        self._port: socket.socket | None = None
        self._started = threading.Event()
        if task_name is not None:
            self._watch(self._remove_if_never_started, self._started, "")
        else:  # warm means ready to build: what `start` imports is imported before it is idle
            from vertexd.launch.environments import EnvironmentBuilder  # noqa: F401
            from vertexd.storage import Storage  # noqa: F401

    def state(self) -> dict[str, Any]:
        """Whether it is idle (a warm actor nobody claimed), its node, and the placement group
        a warm actor was claimed for."""
        node = ray.get_runtime_context().get_node_id()
        return {"idle": not self._claimed, "nodeId": node, "group": self._group, "pid": os.getpid()}

    def claim(self, group: str, task_name: str, cpus: float) -> dict[str, Any] | None:
        """Take this idle warm actor for one replica of the placed group `group` (its id, in
        hex), whose bundle holds its resources: its probe, or None when it was claimed (or
        retired) already."""
        with self._claim_lock:
            if self._claimed:
                return None
            self._claimed, self._claims = True, self._claims + 1
            self.replica, self._started = ReplicaProcess(task_name), threading.Event()
            self._group, self._threads = group, max(1, int(cpus))
            claim = self._claims
        self._watch(self._remove_if_never_started, self._started, group)
        self._watch(self._exit_with_group, claim, group)
        return self.probe()

    def release(self) -> dict[str, Any]:
        """The job is done with this warm actor: once its replica's processes are gone it is
        idle again, for another replica (one at a time). Its `state` after."""
        self.replica.signal(True)
        ended = self.replica.wait_ended(RELEASE_WAIT_SECONDS)
        with self._claim_lock:
            self._claims += 1  # the claim's watch threads stop
            if ended and self._group:
                self._claimed, self._group = False, ""
                self.replica = ReplicaProcess("")
                if self._port is not None:
                    self._port.close()
                    self._port = None
        return self.state()

    def retire(self) -> bool:
        """An idle warm actor ends (the server that kept it stops); a claimed one stays."""
        with self._claim_lock:
            if self._claimed:
                return False
            self._claimed = True
        threading.Timer(0.1, _end_self).start()  # after this call has answered
        return True

    def probe(self) -> dict[str, Any]:
        """Where the replica will listen: this node's address and a port held for it."""
        address = ray.util.get_node_ip_address()
        if self._port is None:
            self._port = socket.socket()
            self._port.bind((address, 0))
        return {
            "nodeIp": address,
            "nodeId": ray.get_runtime_context().get_node_id(),
            "port": int(self._port.getsockname()[1]),
            "actorPid": os.getpid(),
        }

    def start(self, spec: dict[str, Any]) -> None:
        """spec: argv, env, workdir, and pythonEnv + builder when argv[0] is an environment's
        python that this node makes for itself."""
        # This claim's replica and port: a release while the environment builds may make the
        # actor another replica's, and this start must not touch that one.
        replica, port = self.replica, self._port
        self._started.set()
        argv = list(spec["argv"])
        if spec.get("pythonEnv"):
            try:
                argv[0] = self._python(spec["pythonEnv"], spec["builder"], replica)
            except Exception as exc:
                node = ray.util.get_node_ip_address()
                replica.fail(f"its Python environment could not be made on {node}: {exc}")
                return
        if port is not None:
            port.close()  # the replica binds it now
            if self._port is port:
                self._port = None
        workdir = Path(spec["workdir"])
        workdir.mkdir(parents=True, exist_ok=True)
        env = replica_host_env()
        if self._group:  # Ray sized a warm actor's OMP_NUM_THREADS for no CPUs
            env["OMP_NUM_THREADS"] = str(self._threads)
        warm = " in a warm actor" if self._group else ""
        replica.note(f"Starting{warm} on Ray node {ray.util.get_node_ip_address()}.")
        replica.launch(argv, {**env, **spec["env"]}, workdir)

    def drain(self, wait: float) -> dict[str, Any]:
        return self.replica.drain(wait)

    def signal(self, force: bool) -> None:
        self.replica.signal(force)

    def _python(
        self, recipe: dict[str, Any], builder: dict[str, Any], replica: ReplicaProcess
    ) -> str:
        from vertexd.launch.environments import EnvironmentBuilder
        from vertexd.storage import Storage

        storage = Storage(Path(builder["bucketsDir"]), builder["gcs"])
        environments = EnvironmentBuilder(
            Path(builder["envsDir"]), storage, shim=builder["gcs"] == "local"
        )
        made = environments.prepare(
            recipe["executorImageUri"], list(recipe["packageUris"]), replica.note
        )
        return str(made.python)

    def _watch(self, target: Any, *args: Any) -> None:
        threading.Thread(target=target, args=args, daemon=True).start()

    def _remove_if_never_started(self, started: threading.Event, group_id: str) -> None:
        """A server that died between reserving and starting leaves no one to clean up:
        after the deadline the job's placement group (and with it its actors) goes."""
        if started.wait(self._deadline):
            return
        group = _standing_group(group_id) if group_id else ray.util.get_current_placement_group()
        if group is not None:
            ray.util.remove_placement_group(group)

    def _exit_with_group(self, claim: int, group_id: str) -> None:
        """A warm actor is not in its group, so Ray does not end it with the group: if the
        group is removed before the actor is released (the job's server is gone), its replica
        and it end."""
        while self._claims == claim and _standing_group(group_id) is not None:
            time.sleep(GROUP_CHECK_SECONDS)
        with self._claim_lock:
            if self._claims != claim:
                return  # released
        self.replica.signal(True)
        _end_self()


def _end_self() -> None:
    """This actor ends, as one Ray was asked to kill (no 'worker died unexpectedly')."""
    ray.kill(ray.get_runtime_context().current_actor)


def _standing_group(group_id: str) -> PlacementGroup | None:
    """The placement group of that id (hex), None once it is removed (or never was)."""
    group = PlacementGroup(ray.PlacementGroupID(bytes.fromhex(group_id)))
    state = ray.util.placement_group_table(group).get("state")
    return None if state in (None, "REMOVED") else group


RemoteReplicaActor = ray.remote(ReplicaActor)


def replica_host_env() -> dict[str, str]:
    """The node's environment for the replica, less what makes it look like a Ray worker
    (RAY_JOB_ID... would mislead a replica that uses Ray itself). Ray's OMP_NUM_THREADS,
    the replica's CPUs, and CUDA_VISIBLE_DEVICES, its GPUs, stay."""
    return {key: value for key, value in host_env().items() if not key.startswith("RAY_")}
