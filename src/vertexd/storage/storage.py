"""Files named by URI: gs:// in the local buckets (or on Cloud Storage), file://, plain paths.

In "local" mode a bucket is a directory: gs://BUCKET/a/b is <buckets_dir>/BUCKET/a/b. In "gcs"
mode gs:// goes to Cloud Storage through fsspec and gcsfs, which also honours
STORAGE_EMULATOR_HOST. file:// URIs and plain paths are local files in both modes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from vertexd.core.errors import FailedPrecondition, InvalidArgument
from vertexd.storage.uris import check_uri, split_bucket, split_uri

Mode = Literal["local", "gcs"]


class Storage:
    def __init__(self, buckets_dir: Path, mode: Mode = "local") -> None:
        self.buckets_dir = Path(buckets_dir).resolve()
        self.mode = mode

    def local_path(self, uri: str) -> Path | None:
        """The local file `uri` names, or None when it lives on Cloud Storage."""
        problem = check_uri(uri)
        if problem:
            raise InvalidArgument(problem)
        scheme, rest = split_uri(uri)
        if scheme == "gs":
            return None if self.mode == "gcs" else self._in_buckets(rest)
        if scheme == "file":
            return Path(rest)
        return Path(uri).resolve()

    def fetch(self, uri: str, dest_dir: Path) -> Path:
        """Copy the one file `uri` names into `dest_dir`, keeping its base name."""
        name = uri.rstrip("/").rsplit("/", 1)[-1]
        if not name or uri.endswith("/"):
            raise InvalidArgument(f"{uri} names a directory, not a file.")
        dest_dir.mkdir(parents=True, exist_ok=True)
        target = dest_dir / name
        path = self.local_path(uri)
        if path is not None:
            shutil.copyfile(self._existing_file(uri, path), target)
            return target
        fs, remote = self._remote(uri)
        try:
            fs.get_file(remote, str(target))
        except FileNotFoundError:
            raise InvalidArgument(f"{uri} was not found.") from None
        return target

    def read_bytes(self, uri: str) -> bytes:
        path = self.local_path(uri)
        if path is not None:
            return self._existing_file(uri, path).read_bytes()
        fs, remote = self._remote(uri)
        try:
            return bytes(fs.cat_file(remote))
        except FileNotFoundError:
            raise InvalidArgument(f"{uri} was not found.") from None

    def list_files(self, uri_prefix: str) -> list[str]:
        """URIs of the files whose URI starts with `uri_prefix` (a folder or any prefix)."""
        path = self.local_path(uri_prefix)
        if path is None:
            return self._remote_list(uri_prefix)
        if uri_prefix.endswith("/") or path.is_dir():
            found = list(_walk(path))
        elif path.parent.is_dir():
            found = [
                f for c in path.parent.iterdir() if c.name.startswith(path.name) for f in _walk(c)
            ]
        else:
            found = []
        return sorted(self._uri_of(uri_prefix, f) for f in found)

    def makedirs(self, uri: str) -> None:
        """Create the folder `uri` names; Cloud Storage has no folders, so nothing to do there."""
        path = self.local_path(uri)
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)

    # -- helpers ---------------------------------------------------------------------------
    def _in_buckets(self, rest: str) -> Path:
        bucket, key = split_bucket(rest)
        return self.buckets_dir / bucket / key if key else self.buckets_dir / bucket

    def _uri_of(self, prefix: str, path: Path) -> str:
        scheme, _ = split_uri(prefix)
        if scheme == "gs":
            return "gs://" + path.relative_to(self.buckets_dir).as_posix()
        if scheme == "file":
            return "file://" + path.as_posix()
        return str(path)

    @staticmethod
    def _existing_file(uri: str, path: Path) -> Path:
        if path.is_file():
            return path
        if path.is_dir():
            raise InvalidArgument(f"{uri} names a directory, not a file.")
        raise InvalidArgument(f"{uri} was not found.")

    @staticmethod
    def _remote(uri: str) -> tuple[Any, str]:
        import fsspec.core

        try:
            fs, path = fsspec.core.url_to_fs(uri)
        except ImportError as exc:
            raise FailedPrecondition(
                f"Reading {uri} from Cloud Storage needs gcsfs: pip install 'vertexd[gcs]' ({exc})"
            ) from None
        return fs, str(path)

    def _remote_list(self, uri_prefix: str) -> list[str]:
        fs, path = self._remote(uri_prefix)
        if uri_prefix.endswith("/"):
            names = fs.find(path)
        else:
            parent = path.rsplit("/", 1)[0]
            names = [name for name in fs.find(parent) if name.startswith(path)]
        return sorted("gs://" + str(name).lstrip("/") for name in names)


def _walk(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for root, _, files in os.walk(path):
        for name in files:
            yield Path(root) / name
