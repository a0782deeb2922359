"""Job logs: one JSON-lines file per job, appended by every replica and by the service.

Each line is `{"time", "taskName", "stream", "text"}`. Writers open the file with O_APPEND
and write a whole line at once, so lines of several replicas never interleave. This module
imports nothing heavy: the replica runner uses it on every job start.
"""

from __future__ import annotations

import json
import os
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SERVICE_TASK = "service"


def job_log_path(jobs_dir: Path, job_id: str) -> Path:
    return jobs_dir / job_id / "job.log"


def format_line(task_name: str, stream: str, text: str, at: datetime | None = None) -> bytes:
    """One log line; `at` (UTC) when the line was printed, if known better than now."""
    stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    entry = {"time": stamp, "taskName": task_name, "stream": stream, "text": text}
    return (json.dumps(entry, ensure_ascii=False) + "\n").encode()


def open_for_append(path: Path) -> int:
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:  # the job's first line: its directory is made here
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o644)


def append_service_line(path: Path, text: str) -> None:
    """A line from vertexd itself (environment builds, warnings) in the job's log."""
    fd = open_for_append(path)
    try:
        for line in text.splitlines() or [""]:
            os.write(fd, format_line(SERVICE_TASK, "service", line))
    finally:
        os.close(fd)


def read_entries(
    path: Path, offset: int = 0, task_name: str | None = None, max_bytes: int = 1 << 20
) -> tuple[list[dict[str, Any]], int]:
    """Whole lines from byte `offset` on (at most about `max_bytes`), and the next offset."""
    if not path.exists():
        return [], offset
    with path.open("rb") as handle:
        handle.seek(offset)
        chunk = handle.read(max_bytes)
    end = chunk.rfind(b"\n") + 1
    entries = [_parse(raw) for raw in chunk[:end].splitlines() if raw.strip()]
    if task_name:
        entries = [e for e in entries if e.get("taskName") == task_name]
    return entries, offset + end


def tail_texts(path: Path, count: int, task_name: str | None = None) -> list[str]:
    """The last `count` lines a replica printed (service lines left out)."""
    if not path.exists():
        return []
    last: deque[str] = deque(maxlen=count)
    with path.open("rb") as handle:
        for raw in handle:
            entry = _parse(raw)
            if entry.get("taskName") == SERVICE_TASK:
                continue
            if task_name is None or entry.get("taskName") == task_name:
                last.append(str(entry.get("text", "")))
    return list(last)


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        entry = json.loads(raw)
    except ValueError:
        return {
            "time": "",
            "taskName": "",
            "stream": "stdout",
            "text": raw.decode(errors="replace"),
        }
    return entry if isinstance(entry, dict) else {}
