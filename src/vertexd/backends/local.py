"""The embedded default: every replica is a local process in its own process group.

Each replica runs under `local_runner`, which copies its output into the job log and records
its exit code in a file. The handle keeps pids, their start times (so a reused pid is never
mistaken for ours) and the exit files: enough for a restarted server to reattach.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil

from vertexd.backends.base import Handle, LaunchError, ReplicaStatus, Reservation
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


class LocalBackend:
    name = "local"
    runs_images = False

    def __init__(self) -> None:
        # Our own children, kept only so their exit is reaped; state lives in handles.
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def reserve(self, job_id: str, replicas: list[tuple[str, Resources]]) -> Reservation:
        return Reservation(tuple(f"127.0.0.1:{free_port()}" for _ in replicas), {})

    def release(self, reservation: Handle) -> None:
        pass

    def submit(self, plan: LaunchPlan) -> Handle:
        started = []
        try:
            for replica in plan.replicas:
                started.append(self._start(plan, replica))
        except OSError as exc:
            self.stop({"replicas": started}, force=True)
            raise LaunchError(f"Cannot start a local process: {exc}") from exc
        return {"replicas": started}

    def _start(self, plan: LaunchPlan, replica: ReplicaPlan) -> dict[str, object]:
        if replica.image is not None:
            raise LaunchError("The local backend runs no container images.")
        replica.workdir.mkdir(parents=True, exist_ok=True)
        exit_file = plan.run_dir / f"{replica.task_name}.exit"
        exit_file.unlink(missing_ok=True)
        runner = [sys.executable, "-m", "vertexd.backends.local_runner"]
        argv = [*runner, str(plan.log_path), replica.task_name, str(exit_file), "--", *replica.argv]
        process = subprocess.Popen(
            argv,
            cwd=replica.workdir,
            env={**host_env(), **replica.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._children[process.pid] = process
        return {
            "task": replica.task_name,
            "pid": process.pid,
            "startTime": _start_time(process.pid),
            "exitFile": str(exit_file),
        }

    def poll(self, handle: Handle) -> list[ReplicaStatus]:
        return [self._status(replica) for replica in handle["replicas"]]

    def _status(self, replica: dict[str, object]) -> ReplicaStatus:
        task, pid = str(replica["task"]), int(str(replica["pid"]))
        child = self._children.get(pid)
        if child is not None:
            child.poll()
        exit_file = Path(str(replica["exitFile"]))
        if exit_file.exists():
            return ReplicaStatus(
                task, False, exit_code=json.loads(exit_file.read_text())["exitCode"]
            )
        if _alive(pid, replica.get("startTime")):
            return ReplicaStatus(task, True)
        return ReplicaStatus(
            task, False, lost=True, detail="the process ended without an exit code"
        )

    def stop(self, handle: Handle, force: bool) -> None:
        for replica in handle["replicas"]:
            pid = int(replica["pid"])
            if not _group_is_ours(pid, replica.get("startTime")):
                continue
            if force:
                _kill_descendants(pid)
            try:
                os.killpg(pid, signal.SIGKILL if force else signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass

    def cleanup(self, handle: Handle) -> None:
        """Kill what a replica left behind in its group (background children), then reap."""
        self.stop(handle, force=True)
        for replica in handle["replicas"]:
            child = self._children.pop(int(replica["pid"]), None)
            if child is not None:
                child.wait(timeout=5)


def _start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _alive(pid: int, start_time: object) -> bool:
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return start_time is None or abs(process.create_time() - float(str(start_time))) < 0.01
    except psutil.Error:
        return False


def _group_is_ours(pid: int, start_time: object) -> bool:
    """The process group named by the replica's pid is still ours to signal.

    Linux reuses no pid while a process group of that id has members, so a group whose
    leader is gone holds only what the replica left; a live process with another start
    time means the pid was reused and the group is someone else's.
    """
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
    return start_time is None or abs(process.create_time() - float(str(start_time))) < 0.01


def _kill_descendants(pid: int) -> None:
    """Children that left the process group (setsid, daemons) die with the replica too."""
    try:
        descendants = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return
    for process in descendants:
        try:
            process.kill()
        except psutil.Error:
            pass
