"""Warm Python: `python -m MODULE` replicas forked from an interpreter that has already started.

A pythonPackageSpec replica is `ENV_PYTHON -m MODULE ARGS` in a Python environment vertexd
built. Starting that interpreter anew (its own initialisation, `site`, the venv's .pth files)
costs more CPU than many a job's whole run. So the local backend keeps, per environment and
per set of start-up variables, a fork server that runs in that environment's Python
(`ForkServer` with `command`): it has started, imported the replica runner, and waits. Its
runners fork once more for the replica itself: the grandchild drops everything of vertexd
(its modules, its path entry, the fork server's frames, by unwinding them with `RunModule`)
and goes on as `python -m MODULE` would, through `runpy` near the top of its program.
`sys.exit`, errors, threads and atexit end it the way they end a new interpreter (an error is
printed from the same first frame), because that is what its interpreter does with them.

The same as a new process: the replica's environment variables, working directory, argv,
`sys.path` (its folder first), signals, process group and output pipes; the exit code, as
the runner records it. The start-up variables (PYTHON*, LC_*, LANG, HOME, TZ) are those it
would have started with: a different set gets a fork server of its own. What differs, and
is said in the README: /proc/PID/cmdline and /proc/PID/environ show the fork server's
(which holds the host's variables, never another job's), replicas of one fork server share
its string-hash seed (as processes given the same PYTHONHASHSEED do), the venv's .pth files
ran once, in the fork server, and the stack below the module has two frames more (the
fork server's, also in the traceback of an uncaught KeyboardInterrupt). Any other command
(a script, `-c`, options before `-m`) runs as a new process.

`vertexd serve --no-warm-python` turns it off.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import runpy
import signal
import sys
import threading
from collections import OrderedDict
from typing import IO

from vertexd.backends import forkserver, local_runner
from vertexd.backends.output_lines import Child

STARTUP_PREFIXES = ("PYTHON", "LC_")
STARTUP_NAMES = frozenset({"LANG", "HOME", "TZ"})
KEPT = 4  # warm fork servers kept (the last used); the oldest is closed past that
GIVEN_STARTUP = "VERTEXD_WARM_STARTUP"  # tells a fork server the start-up variables it got


def startup_env(env: dict[str, str]) -> dict[str, str]:
    """The variables a Python interpreter reads while it starts (not later, on import)."""
    return {
        name: value
        for name, value in env.items()
        if name.startswith(STARTUP_PREFIXES) or name in STARTUP_NAMES
    }


def command(python: str) -> forkserver.Command:
    """The argv of a fork server in `python`: expressions only, so that the replica's
    `__main__` starts with no name of ours in it."""

    def argv(request_fd: int, answer_fd: int) -> list[str]:
        code = f"__import__('sys').path.insert(0, {forkserver.SOURCE_ROOT!r}); "
        code += "__import__('vertexd.backends.warm_python', fromlist=['_'])"
        return [python, "-c", f"{code}.main({request_fd}, {answer_fd})"]

    return argv


class WarmPythons:
    """The vertexd server's side: a warm fork server per (Python, start-up variables)."""

    def __init__(self, base_env: dict[str, str]) -> None:
        self._base_env = base_env  # the host's variables every replica starts from
        self._lock = threading.Lock()
        self._servers: OrderedDict[tuple[str, tuple[tuple[str, str], ...]], forkserver.ForkServer]
        self._servers = OrderedDict()

    def server_for(self, python: str, env: dict[str, str]) -> forkserver.ForkServer:
        """The fork server for replicas of `python` started with exactly `env`."""
        startup = startup_env(env)
        key = (python, tuple(sorted(startup.items())))
        with self._lock:
            server = self._servers.pop(key, None)
            if server is None:
                given = {**self._base_env, **startup, GIVEN_STARTUP: json.dumps(startup)}
                server = forkserver.ForkServer(command(python), given)
            self._servers[key] = server
            retired = [self._servers.popitem(last=False)[1] for _ in range(len(self) - KEPT)]
        for old in retired:  # its runners and replicas go on: they do not depend on it
            old.close()
        return server

    def __len__(self) -> int:
        return len(self._servers)

    def close(self) -> None:
        with self._lock:
            servers, self._servers = list(self._servers.values()), OrderedDict()
        for server in servers:
            server.close()


# -- the fork server's side, in the environment's Python ----------------------------------
class RunModule(forkserver.LeaveForkServer):  # noqa: N818 - a way out, not an error
    def __init__(self, module: str) -> None:
        super().__init__(module)
        self.module = module


def main(request_fd: int, answer_fd: int) -> None:
    """The fork server's program; in a replica, the rest of `python -m MODULE`'s."""
    module = serve(request_fd, answer_fd)
    try:
        runpy._run_module_as_main(module)  # type: ignore[attr-defined]  # what `-m` calls
    except Exception as error:
        # Printed as the interpreter prints what nothing caught, from the same first frame
        # (runpy's), and the same exit status.
        assert error.__traceback__ is not None
        error.__traceback__ = error.__traceback__.tb_next
        sys.excepthook(type(error), error, error.__traceback__)
        raise SystemExit(1) from None


def serve(request_fd: int, answer_fd: int) -> str:
    """Serve until the request pipe closes (then exit); in a replica: the module it runs."""
    given: dict[str, str] = json.loads(os.environ.pop(GIVEN_STARTUP))
    # What the interpreter itself set while it started (PEP 538's LC_CTYPE), as it would in
    # a replica started anew.
    added = {k: v for k, v in startup_env(dict(os.environ)).items() if given.get(k) != v}
    start = functools.partial(_start, given=given, added=added)
    import argparse  # noqa: F401 - what nearly every training module imports: loaded once

    # What is here now is the fork server's: no collection in a child (a replica's exit
    # included) walks it again, which would also copy every page it is on.
    gc.freeze()
    try:
        forkserver.serve(request_fd, answer_fd, functools.partial(local_runner.main, start=start))
    except RunModule as replica:
        _forget_vertexd()
        return replica.module
    raise SystemExit(0)


def _start(command: list[str], given: dict[str, str], added: dict[str, str]) -> Child:
    """In a runner: fork `python -m MODULE` here when it is this Python with the same start-up
    variables (the runner's environment is the replica's by now); else a new process."""
    if (
        len(command) >= 3
        and command[0] == sys.executable
        and command[1] == "-m"
        and not command[2].startswith("-")
        and startup_env(dict(os.environ)) == given
    ):
        return _fork_module(command, added)
    return local_runner.popen(command)


class _Forked:
    """A forked replica, read as the runner reads a subprocess.Popen."""

    def __init__(self, pid: int, stdout: IO[bytes], stderr: IO[bytes]) -> None:
        self.pid, self.stdout, self.stderr = pid, stdout, stderr
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode


def _fork_module(command: list[str], added: dict[str, str]) -> Child:
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.environ.update(added)
        os.dup2(out_write, 1)
        os.dup2(err_write, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # stdin is /dev/null already
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        forkserver.name_process(os.path.basename(sys.executable).encode()[:15])
        sys.argv, sys.orig_argv = ["-m", *command[3:]], list(command)
        raise RunModule(command[2])
    os.close(out_write)
    os.close(err_write)
    return _Forked(pid, open(out_read, "rb", buffering=0), open(err_read, "rb", buffering=0))


def _forget_vertexd() -> None:
    """Leave nothing imported from vertexd's source, and the path `python -m` would have."""
    ours = forkserver.SOURCE_ROOT + os.sep
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(ours):
            del sys.modules[name]
    if sys.path and sys.path[0] == forkserver.SOURCE_ROOT:
        del sys.path[0]
    sys.path[:] = [os.getcwd() if entry == "" else entry for entry in sys.path]
    sys.path_importer_cache.clear()
