"""Copying a container's output into the job log as it comes: one thread per stream.

Each line keeps the time the engine stamped it with. A copy that starts again (the server
restarted, or the engine cut the stream) resumes after the last line of that replica and
stream already in the log, so lines printed while no server ran are copied exactly once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vertexd.backends.container.engine import Engine, EngineError, Stream
from vertexd.core.joblog import format_line, open_for_append

log = logging.getLogger(__name__)

STREAMS: tuple[Stream, Stream] = ("stdout", "stderr")
EXIT_WAIT_SECONDS = 5.0  # after a follow stream ended: how long to wait for the exit


class LogCopy:
    """Copies one container's stdout and stderr into `log_path` under `task`'s name."""

    def __init__(
        self, engine: Engine, container_id: str, task: str, log_path: Path, resume: bool
    ) -> None:
        self.engine, self.container_id = engine, container_id
        self.task, self.log_path = task, log_path
        cursors = last_stamps(log_path, task) if resume else {}
        self._threads = [
            threading.Thread(
                target=self._copy,
                args=(stream, cursors.get(stream)),
                name=f"logs-{task}-{stream}-{container_id[:12]}",
                daemon=True,
            )
            for stream in STREAMS
        ]
        for thread in self._threads:
            thread.start()

    @property
    def done(self) -> bool:
        """Both streams ended: the container stopped and all it printed is in the log."""
        return not any(thread.is_alive() for thread in self._threads)

    def wait(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _copy(self, stream: Stream, after: datetime | None) -> None:
        fd = open_for_append(self.log_path)
        lines = _Lines(fd, self.task, stream, after)
        try:
            lines.feed(self.engine.log_frames(self.container_id, stream, _since(after)))
            # An engine may end a follow stream before it has stored the last output; once the
            # container has exited, all of it is stored: read what came after the last frame.
            if self._exited():
                frames = self.engine.log_frames(
                    self.container_id, stream, _since(lines.last), follow=False
                )
                lines.feed(frames)
        except EngineError as exc:
            log.warning("log copy of %s (%s) stopped: %s", self.task, stream, exc)
        finally:
            lines.flush()
            os.close(fd)

    def _exited(self) -> bool:
        deadline = time.monotonic() + EXIT_WAIT_SECONDS
        while time.monotonic() < deadline:
            state = self.engine.state(self.container_id)
            if state is None:
                return False
            if not state.running:
                return True
            time.sleep(0.05)
        return False  # still running: the stream was cut; the backend starts a new copy


class _Lines:
    """Frames -> whole lines in the job log, each stamped with when its first part came.

    Frames already copied are skipped by their time; the parts of one long line share a
    time, so how many frames of the last time were copied is counted too.
    """

    def __init__(self, fd: int, task: str, stream: Stream, after: datetime | None) -> None:
        self.fd, self.task, self.stream = fd, task, stream
        self.last = after  # the time of the last frame copied
        self.at_last = 1 << 30 if after else 0  # frames of that time copied (all: resuming)
        self.pending, self.pending_at = "", after

    def feed(self, frames: Iterable[bytes]) -> None:
        skip_same = self.at_last
        for frame in frames:
            at, text = split_frame(frame)
            if at is not None and self.last is not None:
                if at < self.last:
                    continue  # copied already
                if at == self.last and skip_same > 0:
                    skip_same -= 1
                    continue
            self._count(at)
            if not self.pending:
                self.pending_at = at
            self.pending += text
            *lines, self.pending = self.pending.split("\n")
            for index, line in enumerate(lines):
                self._write(line, self.pending_at if index == 0 else at)
            if lines:
                self.pending_at = at

    def _count(self, at: datetime | None) -> None:
        if at is not None and at == self.last:
            self.at_last += 1
        elif at is not None:
            self.last, self.at_last = at, 1

    def flush(self) -> None:
        if self.pending:
            self._write(self.pending, self.pending_at)
            self.pending = ""

    def _write(self, text: str, at: datetime | None) -> None:
        os.write(self.fd, format_line(self.task, self.stream, text.rstrip("\r"), at))


def _since(after: datetime | None) -> float | None:
    """A `since` a little before `after`: engines round it; frames up to `after` are skipped."""
    return (after - timedelta(seconds=1)).timestamp() if after else None


def split_frame(frame: bytes) -> tuple[datetime | None, str]:
    """`2026-11-25T17:07:00.606241108Z text` -> (that time to the microsecond, `text`)."""
    text = frame.decode(errors="replace")
    stamp, sep, rest = text.partition(" ")
    at = parse_stamp(stamp) if sep else None
    return (at, rest) if at is not None else (None, text)


def parse_stamp(stamp: str) -> datetime | None:
    """RFC 3339 with up to nanoseconds, as engines stamp log lines; None if it is not one."""
    seconds, _, fraction = stamp.rstrip("Z").partition(".")
    try:
        moment = datetime.strptime(seconds, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        micros = int((fraction[:6] or "0").ljust(6, "0"))
    except ValueError:
        return None
    if not stamp.endswith("Z"):
        return None
    return moment + timedelta(microseconds=micros)


def last_stamps(log_path: Path, task: str) -> dict[str, datetime]:
    """The time of the last line of `task` in the job log, per stream."""
    found: dict[str, datetime] = {}
    if not log_path.exists():
        return found
    with log_path.open("rb") as lines:
        for raw in lines:
            if task.encode() not in raw:
                continue
            try:
                entry = json.loads(raw)
                at = datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00"))
            except (ValueError, KeyError, TypeError):
                continue
            if entry.get("taskName") == task and entry.get("stream") in STREAMS:
                found[entry["stream"]] = at
    return found
