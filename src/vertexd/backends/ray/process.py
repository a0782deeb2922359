"""One replica's process, as its Ray actor runs it: a child in its own session, whose output
is kept in memory until the server drains it and whose exit code is recorded.

Nothing here imports Ray, so it is tested on its own. Thread-safe: the actor's threads start,
drain and signal it concurrently.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from vertexd.backends.output_lines import copy_lines
from vertexd.backends.process_group import exit_status, kill_group, start_time
from vertexd.core.joblog import SERVICE_TASK

MAX_BUFFERED = 100_000  # lines kept while nobody drains (a server restarting)

Line = tuple[str, str, str]  # (task name, stream, text)


class ReplicaProcess:
    def __init__(self, task_name: str) -> None:
        self.task = task_name
        self._lines: list[Line] = []
        self._dropped = 0
        self._changed = threading.Condition()
        self._process: subprocess.Popen[bytes] | None = None
        self._start_time: float | None = None
        self._exit_code: int | None = None
        self._error = ""  # why the process could not start, when it could not
        self._finished = False  # exit code (or error) recorded and all output read
        self._stopping = False
        self._started_unreported = False  # a drain answers at once with the new pid

    # -- what the actor calls --------------------------------------------------------------
    def note(self, text: str) -> None:
        """A line from vertexd itself (an environment build), for the job log."""
        self._add(SERVICE_TASK, "service", f"[{self.task}] {text}")

    def launch(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        with self._changed:
            if self._stopping:  # stopped while its environment was being made
                self._finish(128 + signal.SIGTERM)
                return
            try:
                self._process = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
            except OSError as exc:
                self._lines.append((self.task, "stderr", f"Cannot start {argv[0]}: {exc}"))
                self._finish(127)
                return
            self._start_time = start_time(self._process.pid)
            self._started_unreported = True
            self._changed.notify_all()
        threading.Thread(target=self._copy_output, args=(self._process,), daemon=True).start()

    def fail(self, error: str) -> None:
        """The process cannot be started at all; the replica ends without an exit code."""
        with self._changed:
            self._error = error
            self._finish(None)

    def drain(self, wait: float) -> dict[str, Any]:
        """Lines printed since the last drain (waiting up to `wait` s for one) and the state."""
        with self._changed:
            if not (self._lines or self._finished or self._started_unreported):
                self._changed.wait(wait)
            self._started_unreported = False
            lines, self._lines = self._lines, []
            if self._dropped:
                note = f"[{self.task}] {self._dropped} log lines were dropped: nobody read them."
                lines.insert(0, (SERVICE_TASK, "service", note))
                self._dropped = 0
            pid = self._process.pid if self._process else None
            return {
                "lines": lines,
                "pid": pid,
                "startTime": self._start_time,
                "done": self._finished,
                "exitCode": self._exit_code,
                "error": self._error,
            }

    def signal(self, force: bool) -> None:
        """SIGTERM the process group, or SIGKILL it and every descendant (force)."""
        with self._changed:
            self._stopping = True
            process = self._process
        if process is not None:
            kill_group(process.pid, self._start_time, force)

    def wait_ended(self, timeout: float) -> bool:
        """Whether the process, if one was started, has ended (waiting up to `timeout` s)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._process is None or self._finished, timeout)

    # -- inside ------------------------------------------------------------------------------
    def _add(self, task: str, stream: str, text: str) -> None:
        with self._changed:
            if len(self._lines) >= MAX_BUFFERED:
                self._lines.pop(0)
                self._dropped += 1
            self._lines.append((task, stream, text))
            self._changed.notify_all()

    def _finish(self, exit_code: int | None) -> None:
        """Record the end; the caller holds the lock."""
        self._exit_code = exit_code
        self._finished = True
        self._changed.notify_all()

    def _copy_output(self, process: subprocess.Popen[bytes]) -> None:
        copy_lines(process, lambda stream, raw: self._add(self.task, stream, _text(raw)))
        code = process.wait()
        with self._changed:
            self._finish(exit_status(code))


def _text(raw: bytes) -> str:
    return raw.decode(errors="replace").rstrip("\r")
