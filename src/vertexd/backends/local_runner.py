"""Runs one replica as a child process and copies its output, line by line, into the job log.

Started by the local backend as the leader of a new session, so the replica and all it
spawns share one process group that the backend can signal. The runner ignores SIGTERM
itself (it keeps copying output while the replica shuts down) and records the exit code in
a file, so a restarted server can still tell how the replica ended.

It lowers its priority by NICE first (the replica inherits it), so that the server stays
responsive when replicas fill the host. With local buckets it binds them at /gcs in a mount
namespace of its own, which the replica inherits (gcs_mount.py).

Usage: python -m vertexd.backends.local_runner LOG TASK EXIT_FILE NICE -- ARGV...
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from vertexd.backends.gcs_mount import mount_gcs
from vertexd.backends.output_lines import Child, copy_lines
from vertexd.backends.process_group import exit_status, record_exit
from vertexd.core.joblog import format_line, open_for_append

FIRST_TASK = "workerpool0-0"


def _write(log_fd: int, task: str, stream: str, raw: bytes) -> None:
    os.write(log_fd, format_line(task, stream, raw.decode(errors="replace").rstrip("\r")))


def popen(command: list[str]) -> Child:
    return subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def main(argv: list[str], start: Callable[[list[str]], Child] = popen) -> int:
    """Run the replica `start` makes of the command after "--" (a new process by default)."""
    log, task, exit_file, nice, separator, *command = argv
    assert separator == "--" and command, __doc__
    if int(nice) > 0:
        os.nice(int(nice))
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        # A Python handler (not SIG_IGN) is reset by exec, so the replica still gets signals.
        signal.signal(signum, lambda *_: None)
    log_fd = open_for_append(Path(log))
    problem = mount_gcs(dict(os.environ))  # the replica inherits the mount namespace
    if problem and task == FIRST_TASK:  # said once per job: every replica has the same reason
        os.write(log_fd, format_line(task, "stderr", problem))
    try:
        process = start(command)
    except OSError as exc:
        os.write(log_fd, format_line(task, "stderr", f"Cannot start {command[0]}: {exc}"))
        record_exit(Path(exit_file), 127)
        return 127
    copy_lines(process, lambda stream, raw: _write(log_fd, task, stream, raw))
    code = process.wait()
    record_exit(Path(exit_file), exit_status(code))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
