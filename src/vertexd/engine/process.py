"""The engine process: recovers what an earlier engine left, then takes the API's requests
(link.py) until it is asked to stop.

It dies with the server: the kernel kills it when the server's process ends (Linux's
PR_SET_PDEATHSIG), and a server gone without saying `stop` makes it exit at once, as if
killed too. Either way replicas keep running, and the next server reattaches them, as after
a `kill -9` of the server. Asked to stop (the server shuts down, or SIGTERM), it stops every
job's replicas first.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vertexd.engine.link import (
    CANCEL,
    CANCEL_TUNING,
    FAILED,
    ISSUED,
    READY,
    REVOKED,
    STOP,
    TRACK,
    TUNE,
    WAKE,
    encode,
)

if TYPE_CHECKING:  # both import most of vertexd: loaded once the parent's death is set up
    from vertexd.engine.wiring import EngineParts
    from vertexd.settings import Settings

log = logging.getLogger("vertexd.engine")
PR_SET_PDEATHSIG = 1


def main(argv: list[str] | None = None) -> None:
    requests, replies, parent = (int(arg) for arg in (argv or sys.argv)[1:4])
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C stops it via the server
    # After the lines above, and before the settings come: they come once the server has
    # loaded its own code and migrated the store, while this loads the engine's.
    import vertexd.engine.wiring  # noqa: F401
    from vertexd.settings import Settings

    given = sys.stdin.read()
    if not given:  # the server stopped before it started the engine
        os._exit(0)
    settings = Settings.model_validate_json(given)
    os.nice(vertexd.engine.wiring.engine_nice(settings))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    to_server = Replies(socket.socket(fileno=replies))
    serving = _serve(settings, socket.socket(fileno=requests), to_server)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        served = runner.run(serving)
    if not served:
        os._exit(1)  # no shutdown: what runs is left for the next server to reattach


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (as the API's uvicorn takes it): each hop
    between a worker thread and the loop costs less."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _die_with(parent: int) -> None:
    libc_name = ctypes.util.find_library("c")
    if libc_name and sys.platform.startswith("linux"):
        libc = ctypes.CDLL(libc_name, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


class Replies:
    """The engine's messages to the server, sent from any thread, in a blocking write: a
    job's credential is known to the server before the job's replicas can use it."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock, self._lock = sock, threading.Lock()

    def send(self, op: str, **fields: Any) -> None:
        with self._lock:
            self._sock.sendall(encode(op, **fields))

    def issued(self, job_id: str) -> None:
        self.send(ISSUED, job=job_id)

    def revoked(self, job_id: str) -> None:
        self.send(REVOKED, job=job_id)


async def _serve(settings: Settings, sock: socket.socket, replies: Replies) -> bool:
    """Run the engine; True when it was asked to stop, False when the server went away."""
    from vertexd.engine.wiring import build

    reader, _ = await asyncio.open_connection(sock=sock)
    try:
        parts = build(settings, replies.issued, replies.revoked)
        await parts.start()
    except Exception as exc:
        log.exception("the engine could not start")
        replies.send(FAILED, message=f"The vertexd engine could not start: {exc}")
        return True
    gc.freeze()  # as the server does (server.py): no collection scans start-up's objects
    replies.send(READY, facts=parts.facts)
    asked_to_stop = await _take_requests(reader, parts)
    if asked_to_stop:
        await parts.shutdown()
    return asked_to_stop


async def _take_requests(reader: asyncio.StreamReader, parts: EngineParts) -> bool:
    """Until `stop` or SIGTERM (True) or the server's end closing (False)."""
    loop = asyncio.get_running_loop()
    terminated = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, terminated.set)
    until_terminated = asyncio.create_task(terminated.wait())
    pending: set[asyncio.Future[Any]] = set()  # follower work, kept until it is done
    while True:
        next_line = asyncio.create_task(reader.readline())
        await asyncio.wait({next_line, until_terminated}, return_when=asyncio.FIRST_COMPLETED)
        if terminated.is_set():
            next_line.cancel()
            return True
        line = next_line.result()
        if not line:
            return False
        message = json.loads(line)
        if message["op"] == STOP:
            until_terminated.cancel()
            return True
        try:
            _dispatch(parts, message, pending)
        except Exception:
            log.exception("the engine could not take %s", message)


def _dispatch(
    parts: EngineParts, message: dict[str, Any], pending: set[asyncio.Future[Any]]
) -> None:
    op, name = message["op"], message.get("name", "")
    if op == WAKE:  # a CustomJob was created
        parts.scheduler.wake(created=True)
    elif op == CANCEL:
        parts.scheduler.cancel(name)
    elif op == TUNE:
        parts.tuner.submit(name)
    elif op == CANCEL_TUNING:
        parts.tuner.cancel(name)
    elif op == TRACK:  # it reads and writes the store
        future = asyncio.get_running_loop().run_in_executor(
            None, _track, parts, name, message["backing"]
        )
        pending.add(future)
        future.add_done_callback(pending.discard)
    else:
        log.error("the engine was asked for %r, which it does not know", op)


def _track(parts: EngineParts, pipeline: str, backing: str) -> None:
    try:
        parts.follower.track(pipeline, backing)
    except Exception:
        log.exception("pipeline %s could not follow %s", pipeline, backing)
