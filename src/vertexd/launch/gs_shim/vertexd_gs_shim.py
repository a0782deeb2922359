"""gs:// and gcs:// as folders on this machine, for training programs that vertexd runs.

vertexd copies this file into a replica's Python environment together with an `fsspec.specs`
entry point. fsspec reads its entry points when it is imported, and they take precedence over
its built-in protocols, so gs://BUCKET/PATH then means $VERTEXD_BUCKETS_DIR/BUCKET/PATH for
fsspec, pandas, joblib-over-fsspec and the like. Nothing here runs at interpreter start-up:
this module is imported the first time a program asks fsspec for gs://.

Paths handed back (ls, find, glob, info) are local paths; `unstrip_protocol` turns them back
into gs:// URIs.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from fsspec.implementations.local import LocalFileSystem
from fsspec.utils import isfilelike, stringify_path

BUCKETS_ENV = "VERTEXD_BUCKETS_DIR"
_PREFIXES = ("gs://", "gcs://")


def buckets_dir() -> str:
    configured = os.environ.get(BUCKETS_ENV) or os.path.join("~", ".vertexd", "buckets")
    return os.path.abspath(os.path.expanduser(configured))


def _in_buckets(root: str, rest: str) -> str:
    rest = rest.strip("/")
    return f"{root}/{rest}" if rest else root


def _local(path: Any) -> str:
    """A path on the local side of a copy: a plain path or file:// URI, never a bucket."""
    return str(LocalFileSystem._strip_protocol(path))


class LocalBucketsFileSystem(LocalFileSystem):  # type: ignore[misc]
    protocol = ("gs", "gcs")

    def __init__(self, auto_mkdir: bool = True, **storage_options: Any) -> None:
        # Cloud Storage has no folders: writing gs://b/x/y never needs a mkdir first.
        # gcsfs options (project, token, ...) are accepted and mean nothing here.
        super().__init__(auto_mkdir=auto_mkdir, **storage_options)

    @property
    def fsid(self) -> str:
        return "vertexd-local-buckets"

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(stringify_path(path))
        root = buckets_dir()
        for prefix in _PREFIXES:
            if text.startswith(prefix):
                return _in_buckets(root, text[len(prefix) :])
        if text == root or text.startswith(root + "/"):
            return text.rstrip("/")
        # Without a scheme, gcsfs reads "bucket/key"; so do we.
        return _in_buckets(root, text)

    def unstrip_protocol(self, name: str) -> str:
        path = self._strip_protocol(name)
        return "gs://" + path[len(buckets_dir()) :].lstrip("/")

    def get_file(self, path1: Any, path2: Any, callback: Any = None, **kwargs: Any) -> None:
        source = self._strip_protocol(path1)
        if isfilelike(path2):
            with open(source, "rb") as f:
                shutil.copyfileobj(f, path2)
        elif os.path.isdir(source):
            os.makedirs(_local(path2), exist_ok=True)
        else:
            shutil.copyfile(source, _local(path2))

    def put_file(self, path1: Any, path2: Any, callback: Any = None, **kwargs: Any) -> None:
        source, target = _local(path1), self._strip_protocol(path2)
        if os.path.isdir(source):
            os.makedirs(target, exist_ok=True)
            return
        if self.auto_mkdir:
            os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, target)
