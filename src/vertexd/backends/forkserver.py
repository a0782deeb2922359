"""A warm process that forks replica runners, so a replica costs no Python start-up.

Starting the runner as a new Python costs tens of milliseconds (more than many jobs'
own run). Instead the local backend keeps one small fork server, started once: a Python
that has imported the runner and waits for requests on its stdin. For each request it forks;
the child leaves the server's session (`setsid`: the replica's process group is its own),
drops the server's pipes, and runs `local_runner.main` as if it had been started anew. The
child is not the vertexd server's child and does not depend on either process: it records
its exit code in its file whatever happens to them, as the separately started runner did.

The fork server is single-threaded (forking is safe), reaps its children as they end (so
their CPU time is counted in its own, as for any parent; exit-watchers follow them by pidfd
and the exit file) and ends when its stdin closes: when the vertexd server exits or is killed.

One request and its answer are one JSON line each:

    {"runner": [LOG, TASK, EXIT_FILE, NICE], "argv": [...], "cwd": "...", "env": {...}}
    {"pid": 1234}  or  {"error": "..."}
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

_SOURCE_ROOT = str(Path(__file__).resolve().parents[2])
# -I -S: none of the host's Python settings or site packages; the runner needs the stdlib only.
_COMMAND = (
    f"import sys; sys.path.insert(0, {_SOURCE_ROOT!r}); "
    "from vertexd.backends.forkserver import serve; serve()"
)

RUNNER_NAME = b"vertexd-runner"  # what `ps -o comm` and `top` show for a forked runner
_PR_SET_NAME = 15


class ForkServerError(OSError):
    """The fork server could not start a runner (it then says why)."""


class ForkServer:
    """The vertexd server's side: one fork server, restarted if it ever died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one request and its answer at a time
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the fork server now (it imports while the caller goes on)."""
        with self._lock:
            self._ensure_started()

    def spawn(self, runner_args: list[str], argv: list[str], cwd: str, env: dict[str, str]) -> int:
        """Fork a runner for `argv` in `cwd` with exactly `env`; its pid."""
        request = json.dumps({"runner": runner_args, "argv": argv, "cwd": cwd, "env": env})
        with self._lock:
            try:
                answer = self._ask(request)
            except (OSError, ValueError):  # it died (killed, out of memory): once more, anew
                self._close()
                answer = self._ask(request)
        if "error" in answer:
            raise ForkServerError(answer["error"])
        return int(answer["pid"])

    def close(self) -> None:
        with self._lock:
            self._close()

    def _ask(self, request: str) -> dict[str, Any]:
        process = self._ensure_started()
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(request.encode() + b"\n")
        process.stdin.flush()
        line = process.stdout.readline()
        if not line:
            raise ForkServerError("the fork server ended")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _COMMAND],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a signal to the server's group is not for it
            )
        return self._process

    def _close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the fork server's side (imports nothing but the stdlib and the runner) -----------------
def serve() -> None:
    from vertexd.backends import local_runner  # imported once, before any fork

    signal.signal(signal.SIGCHLD, _reap)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    for line in requests:
        answer: dict[str, int | str]
        try:
            answer = {"pid": _fork(json.loads(line), local_runner.main)}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            answer = {"error": str(exc)}
        answers.write(json.dumps(answer).encode() + b"\n")
        answers.flush()


def _reap(*_: object) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _fork(request: dict[str, Any], run: Callable[[list[str]], int]) -> int:
    runner_args, argv = list(request["runner"]), list(request["argv"])
    cwd, env = str(request["cwd"]), dict(request["env"])
    if not os.path.isdir(cwd):
        raise FileNotFoundError(f"No such directory: {cwd!r}")
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid:  # answer once the child leads its session: a kill of its group then reaches it
        os.close(ready_write)
        os.read(ready_read, 1)
        os.close(ready_read)
        return pid
    code = 1
    try:
        os.close(ready_read)
        _become_runner(cwd, env)
        os.close(ready_write)
        code = run([*runner_args, "--", *argv])
    finally:
        os._exit(code)


def _become_runner(cwd: str, env: dict[str, str]) -> None:
    """In the child: a session of its own, none of the fork server's pipes, the replica's
    environment, and signals as a new process would have them (the runner sets its own)."""
    os.setsid()
    _name_process(RUNNER_NAME)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the runner waits for its replica
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)


def _name_process(name: bytes) -> None:
    """Set the kernel's name of this process (its command line stays the fork server's)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the name is only cosmetic
        pass
