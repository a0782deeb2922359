"""Copying a replica's stdout and stderr line by line, for the backends that run processes.

Standard library only: the local runner imports it on every replica start.
"""

from __future__ import annotations

import os
import selectors
from collections.abc import Callable
from typing import IO, Protocol

POLL_SECONDS = 0.5  # how often to look whether the process exited while it is quiet
DRAIN_SECONDS = 0.05  # after it exited: the quiet time that ends the copying

Emit = Callable[[str, bytes], None]  # (stream "stdout"/"stderr", one line without "\n")


class Child(Protocol):
    """What is read of a started replica: a subprocess.Popen, or one forked by warm_python."""

    @property
    def stdout(self) -> IO[bytes] | None: ...

    @property
    def stderr(self) -> IO[bytes] | None: ...

    def poll(self) -> int | None: ...

    def wait(self) -> int: ...


def copy_lines(process: Child, emit: Emit) -> None:
    """Emit every line until the process exited and its pipes are drained.

    Background children the process left may hold the pipes open forever, so once the
    process itself has exited, reading stops at the first quiet moment.
    """
    selector = selectors.DefaultSelector()
    pending: dict[str, bytes] = {}
    for stream, pipe in (("stdout", process.stdout), ("stderr", process.stderr)):
        assert pipe is not None
        selector.register(pipe, selectors.EVENT_READ, stream)
        pending[stream] = b""
    while selector.get_map():
        exited = process.poll() is not None
        ready = selector.select(timeout=DRAIN_SECONDS if exited else POLL_SECONDS)
        if exited and not ready:
            break
        for key, _ in ready:
            stream = str(key.data)
            chunk = os.read(key.fd, 65536)
            if not chunk:
                selector.unregister(key.fileobj)
                continue
            *lines, pending[stream] = (pending[stream] + chunk).split(b"\n")
            for line in lines:
                emit(stream, line)
    selector.close()
    for stream, rest in pending.items():
        if rest:
            emit(stream, rest)
