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
and the exit file) and ends when its request pipe closes: when the vertexd server exits or is
killed. Its own stdin, stdout and stderr are /dev/null; requests and answers go through two
pipes of their own, so a forked child starts with nothing read ahead or written behind.

A fork server may also run in a job's Python environment with a replica's start-up
variables (`warm_python`): its runners can then start `python -m MODULE` replicas by forking
too.

One request and its answer are one JSON line each:

    {"runner": [LOG, TASK, EXIT_FILE, NICE], "argv": [...], "cwd": "...", "env": {...}}
    {"pid": 1234}  or  {"error": "..."}
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vertexd.backends.process_group import libc

SOURCE_ROOT = str(Path(__file__).resolve().parents[2])

RUNNER_NAME = b"vertexd-runner"  # what `ps -o comm` and `top` show for a forked runner
_PR_SET_NAME = 15

Runner = Callable[[list[str]], int]  # local_runner.main's shape: its argv -> exit status


class ForkServerError(OSError):
    """The fork server could not start a runner (it then says why)."""


class LeaveForkServer(BaseException):  # noqa: N818 - not an error: a way out of the frames
    """Raised in a forked child that goes on as something else than a runner: it unwinds the
    fork server's frames instead of ending the child there."""


def isolated_command(request_fd: int, answer_fd: int) -> list[str]:
    """The plain fork server: vertexd's Python with -I -S (none of the host's Python
    settings or site packages; the runner needs the stdlib only)."""
    code = f"import sys; sys.path.insert(0, {SOURCE_ROOT!r}); "
    code += f"from vertexd.backends.forkserver import serve; serve({request_fd}, {answer_fd})"
    return [sys.executable, "-I", "-S", "-c", code]


Command = Callable[[int, int], list[str]]  # (request fd, answer fd) -> the fork server's argv


class ForkServer:
    """The vertexd server's side: one fork server, restarted if it ever died."""

    def __init__(
        self, command: Command = isolated_command, env: dict[str, str] | None = None
    ) -> None:
        self._command, self._env = command, env  # env None: the vertexd server's
        self._lock = threading.Lock()  # one request and its answer at a time
        self._process: subprocess.Popen[bytes] | None = None
        self._pipes: tuple[int, int] | None = None  # (requests to write, answers to read)

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
        requests, answers = self._ensure_started()
        _write_all(requests, request.encode() + b"\n")
        line = b""
        while not line.endswith(b"\n"):
            chunk = os.read(answers, 4096)
            if not chunk:
                raise ForkServerError("the fork server ended")
            line += chunk
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _ensure_started(self) -> tuple[int, int]:
        if self._process is not None and self._process.poll() is None and self._pipes:
            return self._pipes
        self._close()
        request_read, request_write = os.pipe()
        answer_read, answer_write = os.pipe()
        try:
            self._process = subprocess.Popen(
                self._command(request_read, answer_write),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(request_read, answer_write),
                env=self._env,
                start_new_session=True,  # a signal to the server's group is not for it
            )
        except OSError:
            for fd in (request_write, answer_read):
                os.close(fd)
            raise
        finally:
            for fd in (request_read, answer_write):
                os.close(fd)
        self._pipes = (request_write, answer_read)
        return self._pipes

    def _close(self) -> None:
        process, self._process = self._process, None
        pipes, self._pipes = self._pipes, None
        for fd in pipes or ():
            os.close(fd)
        if process is None:
            return
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


# -- the fork server's side (imports nothing but the stdlib and the runner) -----------------
def serve(request_fd: int, answer_fd: int, run: Runner | None = None) -> None:
    """Fork a runner for every request until the request pipe closes. The pipes are used as
    bare descriptors: no file object a forked child could flush or close behind them."""
    if run is None:
        from vertexd.backends import local_runner  # imported once, before any fork

        run = local_runner.main
    signal.signal(signal.SIGCHLD, _reap)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    for line in _lines(request_fd):
        answer: dict[str, int | str]
        try:
            answer = {"pid": _fork(json.loads(line), run, (request_fd, answer_fd))}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            answer = {"error": str(exc)}
        _write_all(answer_fd, json.dumps(answer).encode() + b"\n")


def _lines(fd: int) -> Iterator[bytes]:
    pending = b""
    while chunk := os.read(fd, 65536):
        *lines, pending = (pending + chunk).split(b"\n")
        yield from lines


def _reap(*_: object) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _fork(request: dict[str, Any], run: Runner, pipes: tuple[int, int]) -> int:
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
        for fd in (ready_read, *pipes):
            os.close(fd)
        _become_runner(cwd, env)
        os.close(ready_write)
        code = run([*runner_args, "--", *argv])
    except LeaveForkServer:
        raise
    except BaseException:  # noqa: S110 - stderr is /dev/null; the runner's exit is the record
        pass
    os._exit(code)


def _become_runner(cwd: str, env: dict[str, str]) -> None:
    """In the child: a session of its own, none of the fork server's pipes, the replica's
    environment, and signals as a new process would have them (the runner sets its own)."""
    os.setsid()
    name_process(RUNNER_NAME)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the runner waits for its replica
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)


def name_process(name: bytes) -> None:
    """Set the kernel's name of this process (its command line stays the fork server's)."""
    try:
        libc().prctl(_PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the name is only cosmetic
        pass
