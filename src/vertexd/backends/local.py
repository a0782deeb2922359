"""The embedded default: every replica is a local process in its own process group.

Each replica runs under `local_runner`, which copies its output into the job log and records
its exit code in a file; runners are forked by a warm fork server (`forkserver`), so a replica
costs no Python start-up. A `python -m MODULE` replica in an environment vertexd built is
forked, runner and all, from a fork server in that environment's Python (`warm_python`).
The handle keeps pids, their start times (so a reused pid is never
mistaken for ours) and the exit files: enough for a restarted server to reattach. Exits are
heard through pidfds (`exit_watch`), so a running job costs nothing until it ends.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

from vertexd.backends import exit_watch, process_group
from vertexd.backends.base import Handle, LaunchError, ReplicaStatus, Reservation, Unwatch
from vertexd.backends.forkserver import ForkServer
from vertexd.backends.handles import LocalHandle, LocalReplica
from vertexd.backends.warm_python import WarmPythons
from vertexd.launch.plan import LaunchPlan, ReplicaPlan, Resources

# Host variables that would make the replica's Python pick up the server's packages.
_NOT_INHERITED = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def host_env() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if key not in _NOT_INHERITED and not key.startswith("VERTEXD_")
    }


def local_addresses(count: int) -> Reservation:
    """Free ports on this host, for backends whose replicas use the host's network."""
    return Reservation(tuple(f"127.0.0.1:{free_port()}" for _ in range(count)), None)


class LocalBackend:
    name = "local"
    runs_images = False

    def __init__(self, nice: int = 0, warm_python: bool = True) -> None:
        self.nice = nice  # how much lower than the server's the replicas' priority is
        self._forks = ForkServer()
        self._forks.start()
        self._host_env = host_env()  # (read once: os.environ decodes every key on each read)
        self._warm = WarmPythons(self._host_env) if warm_python else None
        self._exits = exit_watch.ExitWatcher() if exit_watch.supported() else None

    def reserve(self, job_id: str, replicas: list[tuple[str, Resources]]) -> Reservation:
        return local_addresses(len(replicas))

    def release(self, reservation: Reservation) -> None:
        pass

    def submit(self, plan: LaunchPlan) -> Handle:
        started: list[LocalReplica] = []
        try:
            for replica in plan.replicas:
                started.append(self._start(plan, replica))
        except OSError as exc:
            self.stop(LocalHandle(replicas=tuple(started)), force=True)
            raise LaunchError(f"Cannot start a local process: {exc}") from exc
        return LocalHandle(replicas=tuple(started))

    def _start(self, plan: LaunchPlan, replica: ReplicaPlan) -> LocalReplica:
        if replica.image is not None:
            raise LaunchError("The local backend runs no container images.")
        replica.workdir.mkdir(parents=True, exist_ok=True)
        exit_file = plan.run_dir / f"{replica.task_name}.exit"
        exit_file.unlink(missing_ok=True)
        where = [str(plan.log_path), replica.task_name, str(exit_file), str(self.nice)]
        env = {**self._host_env, **replica.env}
        forks = self._forks
        if self._warm is not None and replica.python_env and replica.argv[1:2] == ("-m",):
            forks = self._warm.server_for(replica.argv[0], env)  # a Python vertexd built
        pid = forks.spawn(where, list(replica.argv), str(replica.workdir), env)
        started = process_group.start_time(pid)
        return LocalReplica(
            task=replica.task_name, pid=pid, start_time=started, exit_file=str(exit_file)
        )

    def poll(self, handle: Handle) -> list[ReplicaStatus]:
        return [self._status(replica) for replica in _own(handle).replicas]

    def _status(self, replica: LocalReplica) -> ReplicaStatus:
        exit_file = Path(replica.exit_file)
        code = process_group.read_exit(exit_file)
        if code is None and process_group.alive(replica.pid, replica.start_time):
            return ReplicaStatus(replica.task, True)
        if code is None:  # a runner that recorded its code after the first look is not lost
            code = process_group.read_exit(exit_file)
        if code is not None:
            return ReplicaStatus(replica.task, False, exit_code=code)
        return ReplicaStatus(
            replica.task, False, lost=True, detail="the process ended without an exit code"
        )

    def watch(self, handle: Handle, changed: Callable[[], None]) -> Unwatch | None:
        if self._exits is None:
            return None
        exits = self._exits
        stops = [exits.watch(r.pid, r.start_time, changed) for r in _own(handle).replicas]

        def unwatch() -> None:
            for stop in stops:
                stop()

        return unwatch

    def stop(self, handle: Handle, force: bool) -> None:
        for replica in _own(handle).replicas:
            process_group.kill_group(replica.pid, replica.start_time, force)

    def cleanup(self, handle: Handle) -> None:
        """Kill what a replica left behind in its group (background children)."""
        self.stop(handle, force=True)

    def close(self) -> None:
        self._forks.close()
        if self._warm is not None:
            self._warm.close()


def _own(handle: Handle) -> LocalHandle:
    if not isinstance(handle, LocalHandle):
        raise TypeError(f"not a local handle: {handle.kind}")
    return handle
