"""Files under an output URI (gs://, file:// or a path), for the console's output views.

Bounded: at most `limit` files are listed, so a huge folder cannot stall the server.
Contained: only folders under one of the allowed roots (the home's buckets, the jobs'
folders) are listed, after `..` and symlinks are resolved; a symlink inside that leads out
is left out.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vertexd.core.errors import InvalidArgument, PermissionDenied
from vertexd.storage import Storage, check_uri

MAX_FILES = 500


def list_output(
    storage: Storage, uri: str, roots: tuple[Path, ...] = (), limit: int = MAX_FILES
) -> dict[str, Any]:
    """{"uri", "files": [{"uri", "path" (relative to uri), "size"}], "truncated"}; local
    folders only under `roots` (the storage's buckets always)."""
    problem = check_uri(uri)
    if problem:
        raise InvalidArgument(problem, "uri")
    folder = uri if uri.endswith("/") else uri + "/"
    path = storage.local_path(folder)
    if path is None:  # Cloud Storage: the storage layer lists it
        uris = storage.list_files(folder)
        files: list[dict[str, Any]] = [
            {"uri": u, "path": u[len(folder) :], "size": None} for u in uris[:limit]
        ]
        return {"uri": folder, "files": files, "truncated": len(uris) > limit}
    allowed = (storage.buckets_dir, *roots)
    if not any(_inside(path, root) for root in allowed):
        raise PermissionDenied(f"{uri} is outside the local buckets and the jobs' folders.")
    files, truncated = _walk(path, folder, limit)
    return {"uri": folder, "files": files, "truncated": truncated}


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, with `..` and symlinks resolved, lies in (or is) `root`."""
    return path.resolve().is_relative_to(root.resolve())


def _walk(root: Path, folder: str, limit: int) -> tuple[list[dict[str, Any]], bool]:
    found: list[dict[str, Any]] = []
    root = root.resolve()
    if not root.is_dir():
        return found, False
    for current, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if len(found) >= limit:
                return found, True
            full = Path(current) / name
            if not _inside(full, root):  # a symlink that leads out
                continue
            relative = full.relative_to(root).as_posix()
            try:
                size: int | None = full.stat().st_size
            except OSError:
                size = None
            found.append({"uri": folder + relative, "path": relative, "size": size})
    return found, False
