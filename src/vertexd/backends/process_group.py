"""Process-group work shared by the local runner and Ray's replica process: start times,
liveness, killing a group with every descendant, and exit records.

A replica leads its own session, so it and all it spawns share one process group named by
its pid. Linux reuses no pid while a process group of that id has members, so a group whose
leader is gone holds only what the replica left; a live process with another start time
means the pid was reused and the group is someone else's.

The exit-record half imports nothing heavy: the runner uses it on every replica start.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import signal
from pathlib import Path

SAME_START_SECONDS = 0.01  # psutil's create_time is rounded: closer than this is the same


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library as this process has it loaded (dlopen of the program itself): no search
    (ctypes.util.find_library runs ldconfig, milliseconds on every replica start)."""
    return ctypes.CDLL(None, use_errno=True)


def exit_status(returncode: int) -> int:
    """A Popen return code as shells and container engines report it: 128+N when killed."""
    return 128 - returncode if returncode < 0 else returncode


def record_exit(exit_file: Path, code: int) -> None:
    """Write the exit record atomically: a reader sees all of it or nothing."""
    partial = exit_file.with_suffix(".tmp")
    partial.write_text(json.dumps({"exitCode": code}))
    partial.replace(exit_file)


def read_exit(exit_file: Path) -> int | None:
    try:
        return int(json.loads(exit_file.read_text())["exitCode"])
    except FileNotFoundError:
        return None


def start_time(pid: int) -> float | None:
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def alive(pid: int, started: float | None) -> bool:
    """The process `pid` runs (not a zombie) and is the one that started at `started`."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(process.create_time() - started) < SAME_START_SECONDS
    except psutil.Error:
        return False


def kill_group(pid: int, started: float | None, force: bool) -> None:
    """SIGTERM the group led by `pid`, or SIGKILL it and every descendant (force), unless
    the pid now names another process."""
    import psutil

    try:
        leader = psutil.Process(pid)
        if started is not None and abs(leader.create_time() - started) > SAME_START_SECONDS:
            return
        # A zombie's children were handed to a reaper when it exited: it has none, and
        # asking would scan every process on the host.
        zombie = leader.status() == psutil.STATUS_ZOMBIE
        descendants = leader.children(recursive=True) if force and not zombie else []
    except psutil.NoSuchProcess:
        descendants = []
    except psutil.Error:
        return
    for process in descendants:  # those that left the group (setsid, daemons) too
        try:
            process.kill()
        except psutil.Error:
            pass
    try:
        os.killpg(pid, signal.SIGKILL if force else signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
