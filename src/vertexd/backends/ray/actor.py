"""The Ray actor that stands for one replica on the node Ray placed it on.

Created by `reserve` in its placement group bundle, it first holds a free port on its node
(`probe`), then `start` makes the replica's Python environment on this node when it has one,
and runs the replica's command as a `ReplicaProcess`. The server pulls output and the exit
code with `drain` (a long poll) and stops the process group with `signal`.

A threaded actor (`max_concurrency`), so that drain and signal run while start builds.
It is detached: it outlives a server restart, and the server finds it again by name.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Any

import ray

from vertexd.backends.local import host_env
from vertexd.backends.ray.process import ReplicaProcess


class ReplicaActor:
    def __init__(self, task_name: str, start_deadline_seconds: float) -> None:
        self.replica = ReplicaProcess(task_name)
        self._port: socket.socket | None = None
        self._started = threading.Event()
        watchdog = threading.Thread(
            target=self._remove_if_never_started, args=(start_deadline_seconds,), daemon=True
        )
        watchdog.start()

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
        self._started.set()
        argv = list(spec["argv"])
        if spec.get("pythonEnv"):
            try:
                argv[0] = self._python(spec["pythonEnv"], spec["builder"])
            except Exception as exc:
                node = ray.util.get_node_ip_address()
                self.replica.fail(f"its Python environment could not be made on {node}: {exc}")
                return
        if self._port is not None:
            self._port.close()  # the replica binds it now
            self._port = None
        workdir = Path(spec["workdir"])
        workdir.mkdir(parents=True, exist_ok=True)
        self.replica.note(f"Starting on Ray node {ray.util.get_node_ip_address()}.")
        self.replica.launch(argv, {**replica_host_env(), **spec["env"]}, workdir)

    def drain(self, wait: float) -> dict[str, Any]:
        return self.replica.drain(wait)

    def signal(self, force: bool) -> None:
        self.replica.signal(force)

    def _python(self, recipe: dict[str, Any], builder: dict[str, Any]) -> str:
        from vertexd.launch.environments import EnvironmentBuilder
        from vertexd.storage import Storage

        storage = Storage(Path(builder["bucketsDir"]), builder["gcs"])
        environments = EnvironmentBuilder(
            Path(builder["envsDir"]), storage, shim=builder["gcs"] == "local"
        )
        made = environments.prepare(
            recipe["executorImageUri"], list(recipe["packageUris"]), self.replica.note
        )
        return str(made.python)

    def _remove_if_never_started(self, deadline: float) -> None:
        """A server that died between reserving and starting leaves no one to clean up:
        after the deadline the job's placement group (and with it every actor) goes."""
        if self._started.wait(deadline):
            return
        group = ray.util.get_current_placement_group()
        if group is not None:
            ray.util.remove_placement_group(group)


def replica_host_env() -> dict[str, str]:
    """The node's environment for the replica, less what makes it look like a Ray worker
    (RAY_JOB_ID... would mislead a replica that uses Ray itself). Ray's OMP_NUM_THREADS,
    the replica's CPUs, and CUDA_VISIBLE_DEVICES, its GPUs, stay."""
    return {key: value for key, value in host_env().items() if not key.startswith("RAY_")}
