"""One thread that hears processes exit (Linux pidfds), so supervisors need not poll.

`watch(pid, started, on_exit)` calls `on_exit()` once, from the watcher's thread, when the
process ends (at once if it has ended already). It works for processes that are not our
children too: a restarted server watches the replicas an earlier one started.
"""

from __future__ import annotations

import itertools
import logging
import os
import selectors
import threading
from collections.abc import Callable

from vertexd.backends.process_group import alive

log = logging.getLogger(__name__)

Callback = Callable[[], None]


def supported() -> bool:
    return hasattr(os, "pidfd_open")


class ExitWatcher:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe()
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._next_token = itertools.count(1)
        self._to_add: list[tuple[int, int, Callback]] = []  # (token, pidfd, callback)
        self._to_drop: set[int] = set()  # tokens
        self._fds: dict[int, int] = {}  # token -> pidfd, while registered
        self._thread: threading.Thread | None = None

    def watch(self, pid: int, started: float | None, on_exit: Callback) -> Callback:
        """Start watching; returns a function that stops it (on_exit is then never called)."""
        try:
            fd = os.pidfd_open(pid)
        except OSError:  # gone already
            on_exit()
            return lambda: None
        if not alive(pid, started):  # checked after opening, so the fd names the right one
            os.close(fd)
            on_exit()
            return lambda: None
        token = next(self._next_token)
        with self._lock:
            self._to_add.append((token, fd, on_exit))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="exit-watch", daemon=True)
                self._thread.start()
        os.write(self._wake_write, b"+")

        def stop() -> None:
            with self._lock:
                self._to_drop.add(token)
            os.write(self._wake_write, b"-")

        return stop

    def _run(self) -> None:
        while True:
            for key, _ in self._selector.select():
                if key.data is None:
                    os.read(self._wake_read, 4096)
                    self._apply_changes()
                    continue
                token, callback = key.data
                if self._forget(token):
                    try:
                        callback()
                    except Exception:
                        log.exception("exit callback failed")

    def _apply_changes(self) -> None:
        with self._lock:
            adds, self._to_add = self._to_add, []
            drops, self._to_drop = self._to_drop, set()
        for token, fd, callback in adds:
            self._fds[token] = fd
            self._selector.register(fd, selectors.EVENT_READ, (token, callback))
        for token in drops:
            self._forget(token)

    def _forget(self, token: int) -> bool:
        """Stop watching; False when it was stopped already."""
        fd = self._fds.pop(token, None)
        if fd is None:
            return False
        self._selector.unregister(fd)
        os.close(fd)
        return True
