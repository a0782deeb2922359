"""The replica process inside a Ray actor, without Ray: output, exit codes, stopping."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from vertexd.backends.ray.process import ReplicaProcess


def drain_all(replica: ReplicaProcess, timeout: float = 30) -> tuple[list[Any], dict[str, Any]]:
    lines: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = replica.drain(0.5)
        lines += answer["lines"]
        if answer["done"]:
            return lines, answer
    raise AssertionError(f"never finished; lines so far: {lines}")


def test_lines_of_both_streams_and_the_exit_code(tmp_path: Path) -> None:
    replica = ReplicaProcess("workerpool1-0")
    script = (
        "import sys; print('one'); print('two', file=sys.stderr); print('three', end='');"
        " sys.exit(3)"
    )
    replica.launch([sys.executable, "-c", script], dict(os.environ), tmp_path)
    lines, end = drain_all(replica)
    assert sorted(lines) == sorted(
        [
            ("workerpool1-0", "stdout", "one"),
            ("workerpool1-0", "stderr", "two"),
            ("workerpool1-0", "stdout", "three"),
        ]
    )
    assert end["exitCode"] == 3 and end["error"] == "" and end["pid"] > 0


def test_a_drain_answers_at_once_when_the_process_starts(tmp_path: Path) -> None:
    replica = ReplicaProcess("workerpool0-0")
    replica.launch(["sleep", "5"], {}, tmp_path)
    started = time.monotonic()
    answer = replica.drain(3)
    assert time.monotonic() - started < 1 and answer["pid"] and not answer["done"]
    replica.signal(force=True)
    _, end = drain_all(replica)
    assert end["exitCode"] == 128 + signal.SIGKILL


def test_sigterm_reaches_the_whole_group(tmp_path: Path) -> None:
    replica = ReplicaProcess("workerpool0-0")
    pid_file = tmp_path / "child"
    script = f"sleep 600 & echo $! > {pid_file}; wait"
    replica.launch(["bash", "-c", script], {"PATH": os.environ["PATH"]}, tmp_path)
    child = psutil.Process(_read_pid(pid_file))
    replica.signal(force=False)
    _, end = drain_all(replica)
    assert end["exitCode"] == 128 + signal.SIGTERM
    child.wait(5)


def test_force_kills_children_that_left_the_group(tmp_path: Path) -> None:
    replica = ReplicaProcess("workerpool0-0")
    pid_file = tmp_path / "child"
    script = f"setsid sleep 600 & echo $! > {pid_file}; trap '' TERM; sleep 600"
    replica.launch(["bash", "-c", script], {"PATH": os.environ["PATH"]}, tmp_path)
    escaped = psutil.Process(_read_pid(pid_file))
    replica.signal(force=True)
    _, end = drain_all(replica)
    assert end["exitCode"] == 128 + signal.SIGKILL
    escaped.wait(5)


def _read_pid(path: Path) -> int:
    deadline = time.monotonic() + 10
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return int(path.read_text())


def test_a_command_that_cannot_start_exits_127(tmp_path: Path) -> None:
    replica = ReplicaProcess("workerpool0-0")
    replica.launch([str(tmp_path / "missing")], {}, tmp_path)
    lines, end = drain_all(replica)
    assert end["exitCode"] == 127 and "Cannot start" in lines[0][2]


def test_failure_before_start_and_notes(tmp_path: Path) -> None:
    replica = ReplicaProcess("workerpool2-0")
    replica.note("Building Python environment x.")
    replica.fail("its Python environment could not be made on 127.0.0.3: boom")
    lines, end = drain_all(replica)
    assert lines == [("service", "service", "[workerpool2-0] Building Python environment x.")]
    assert end["exitCode"] is None and "boom" in end["error"]


def test_stopped_before_start_never_starts(tmp_path: Path) -> None:
    replica = ReplicaProcess("workerpool0-0")
    replica.signal(force=False)
    replica.launch(["sleep", "600"], {}, tmp_path)
    _, end = drain_all(replica)
    assert end["pid"] is None and end["exitCode"] == 128 + signal.SIGTERM
