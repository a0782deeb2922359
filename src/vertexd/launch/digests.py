"""A file's sha256, remembered while the file is unchanged: a job's packages are hashed for
the key of their environment, and a large package would otherwise be read whole at every
job that names it."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

REMEMBERED = 1024  # files; beyond that the oldest are forgotten
# A file changed this recently may change again within the file system's clock tick (a few
# ms) and keep its stamp: its digest is not remembered yet (git's "racy" rule).
SETTLED_NS = 2_000_000_000

# (device, inode, size, mtime, ctime): what any write, rename over or copy changes; the
# ctime cannot be set back by the writer.
_Stamp = tuple[int, int, int, int, int]
_known: dict[str, tuple[_Stamp, str]] = {}
_lock = threading.Lock()


def sha256(path: Path) -> str:
    """The hex sha256 of the file at `path`."""
    before = _stamp(path)
    with _lock:
        known = _known.get(str(path))
    if known is not None and known[0] == before:
        return known[1]
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    settled = time.time_ns() - max(before[3], before[4]) > SETTLED_NS
    if settled and _stamp(path) == before:  # and not written while it was read
        with _lock:
            _known.pop(str(path), None)
            _known[str(path)] = (before, digest)
            while len(_known) > REMEMBERED:
                del _known[next(iter(_known))]
    return digest


def _stamp(path: Path) -> _Stamp:
    info = os.stat(path)
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
