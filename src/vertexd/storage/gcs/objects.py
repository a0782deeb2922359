"""The objects of the local buckets: the files of <buckets>/BUCKET, with their metadata.

Every operation takes names, checks them (names.py) and works on plain files, so that what
the API writes is a file a job can read, and what a job writes is an object the API serves.
Writes land in a staging file first and are renamed into place under the store's lock,
after their preconditions were checked: readers never see half an object.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vertexd.storage.gcs.conditions import Conditions
from vertexd.storage.gcs.errors import bad_request, conflict, not_found
from vertexd.storage.gcs.metadata import Digests, ObjectMeta, Sidecars, editable
from vertexd.storage.gcs.names import bucket_problem, check_bucket, inside, object_path

MAX_COMPOSE_SOURCES = 32
NO_CONDITIONS = Conditions()


@dataclass(frozen=True)
class BucketInfo:
    name: str
    created_ns: int


class ObjectStore:
    def __init__(self, buckets_dir: Path, meta_dir: Path | None = None) -> None:
        self.buckets_dir = Path(buckets_dir)
        # Beside the buckets folder, never in it: nothing here is ever an object.
        self.meta_dir = meta_dir or self.buckets_dir.with_name(self.buckets_dir.name + ".meta")
        self.sidecars = Sidecars(self.meta_dir / "objects")
        self.staging_dir = self.meta_dir / "staging"
        self.uploads_dir = self.meta_dir / "uploads"
        self._lock = threading.Lock()

    def sweep(self, max_age_seconds: float = 7 * 24 * 3600) -> None:
        """Remove what an earlier server left: staged bytes, and upload sessions unused for
        `max_age_seconds` (an unfinished resumable upload is kept that long, as on GCS)."""
        now = time.time()
        for staged in self.staging_dir.glob("object-*"):
            staged.unlink(missing_ok=True)
        for session in self.uploads_dir.glob("*"):
            data = session / "data"
            seen = data.stat().st_mtime if data.exists() else session.stat().st_mtime
            if now - seen > max_age_seconds:
                shutil.rmtree(session, ignore_errors=True)

    # -- buckets ---------------------------------------------------------------------------
    def bucket_dir(self, bucket: str) -> Path:
        return self.buckets_dir / check_bucket(bucket)

    def get_bucket(self, bucket: str) -> BucketInfo:
        path = self.bucket_dir(bucket)
        if not path.is_dir():
            raise not_found(f"The bucket {bucket} does not exist.")
        return BucketInfo(bucket, path.stat().st_mtime_ns)

    def list_buckets(self) -> list[BucketInfo]:
        if not self.buckets_dir.is_dir():
            return []
        names = sorted(p.name for p in self.buckets_dir.iterdir() if p.is_dir())
        return [self.get_bucket(name) for name in names if bucket_problem(name) is None]

    def create_bucket(self, bucket: str) -> BucketInfo:
        path = self.bucket_dir(bucket)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir()
        except FileExistsError:
            raise conflict(f"The bucket {bucket} already exists.") from None
        return self.get_bucket(bucket)

    def delete_bucket(self, bucket: str) -> None:
        path = self.bucket_dir(bucket)
        self.get_bucket(bucket)
        if any(_files(path)):
            raise conflict(f"The bucket {bucket} is not empty.")
        shutil.rmtree(path)
        self.sidecars.forget_bucket(bucket)

    # -- reading ---------------------------------------------------------------------------
    def path(self, bucket: str, name: str) -> Path:
        """The file object `name` is (or would be); the bucket must exist."""
        return object_path(self.bucket_dir_existing(bucket), name)

    def bucket_dir_existing(self, bucket: str) -> Path:
        path = self.bucket_dir(bucket)
        if not path.is_dir():
            raise not_found(f"The bucket {bucket} does not exist.")
        return path

    def find(self, bucket: str, name: str) -> ObjectMeta | None:
        path = self.path(bucket, name)
        if name.endswith("/") or not path.is_file():
            return None
        return self.sidecars.describe(bucket, name, path)

    def get(self, bucket: str, name: str, generation: int | None = None) -> ObjectMeta:
        meta = self.find(bucket, name)
        if meta is None or (generation is not None and meta.generation != generation):
            which = f" (generation {generation})" if generation is not None else ""
            raise not_found(f"No such object: {bucket}/{name}{which}.")
        return meta

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def staging_file(self) -> Iterator[Path]:
        """A new empty file to write an object's bytes into; gone afterwards unless put."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=self.staging_dir, prefix="object-")
        os.close(handle)
        try:
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    def put(
        self,
        bucket: str,
        name: str,
        source: Path,
        fields: dict[str, Any],
        conditions: Conditions = NO_CONDITIONS,
        digests: Digests | None = None,
    ) -> ObjectMeta:
        """Make the staged file `source` the object `name` (moving it), as a new generation."""
        path = self.path(bucket, name)
        if name.endswith("/"):
            return self._folder(bucket, name, path, source, conditions)
        digests = digests or Digests.of_file(source)
        _check_checksums(fields, digests)
        self._make_parents(bucket, name, path)
        os.chmod(source, 0o644)
        with self._lock:
            conditions.check(self.find(bucket, name), f"{bucket}/{name}")
            if path.is_dir():
                raise conflict(f"{bucket}/{name} is a folder of objects; it cannot be an object.")
            _move(source, path)
            return self.sidecars.record(bucket, name, path, digests, editable(fields))

    def patch(
        self, bucket: str, name: str, fields: dict[str, Any], conditions: Conditions
    ) -> ObjectMeta:
        with self._lock:
            meta = self.get(bucket, name)
            conditions.check(meta, f"{bucket}/{name}")
            changes = editable(fields)
            if isinstance(fields.get("metadata"), dict):
                changes["metadata"] = fields["metadata"]  # even {}: merged key by key
            changes.update({k: None for k in fields if k in _CLEARABLE and fields[k] is None})
            return self.sidecars.update_fields(
                meta, self.path(bucket, name), changes, time.time_ns()
            )

    def delete(
        self, bucket: str, name: str, generation: int | None, conditions: Conditions
    ) -> None:
        with self._lock:
            meta = self.get(bucket, name, generation)
            conditions.check(meta, f"{bucket}/{name}")
            self.path(bucket, name).unlink()
            self.sidecars.forget(bucket, name)
        self._prune(bucket, self.path(bucket, name).parent)

    def copy(
        self,
        source: tuple[str, str, int | None],
        target: tuple[str, str],
        fields: dict[str, Any],
        conditions: Conditions,
        source_conditions: Conditions = NO_CONDITIONS,
    ) -> ObjectMeta:
        """Copy an object (bucket, name, generation) to (bucket, name); `fields` override the
        source's metadata."""
        meta = self.get(*source)
        source_conditions.check(meta, f"{source[0]}/{source[1]}")
        with self.staging_file() as staged:
            shutil.copyfile(self.path(source[0], source[1]), staged)
            merged = {**meta.fields, **editable(fields)}
            return self.put(*target, staged, merged, conditions)

    def compose(
        self,
        bucket: str,
        name: str,
        sources: list[tuple[str, int | None]],
        fields: dict[str, Any],
        conditions: Conditions,
    ) -> ObjectMeta:
        if not 1 <= len(sources) <= MAX_COMPOSE_SOURCES:
            raise bad_request(f"compose takes 1 to {MAX_COMPOSE_SOURCES} source objects.")
        metas = [self.get(bucket, source, generation) for source, generation in sources]
        with self.staging_file() as staged:
            with open(staged, "wb") as out:
                for meta in metas:
                    with open(self.path(bucket, meta.name), "rb") as part:
                        shutil.copyfileobj(part, out, 1 << 20)
            merged = {**metas[0].fields, **editable(fields)}
            return self.put(bucket, name, staged, merged, conditions)

    # -- helpers ---------------------------------------------------------------------------
    def _make_parents(self, bucket: str, name: str, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise conflict(
                f"{bucket}/{name} cannot be written: a part of its name is an object already "
                "(in a folder, an object and a folder of objects cannot share a name)."
            ) from None
        if not inside(self.bucket_dir(bucket), path.parent):
            raise bad_request(f"Object name {name!r} leads outside its bucket.")

    def _folder(
        self, bucket: str, name: str, path: Path, source: Path, conditions: Conditions
    ) -> ObjectMeta:
        """A name ending in '/' is a folder marker: it makes the folder, and holds no bytes."""
        if source.stat().st_size:
            raise bad_request(f"{bucket}/{name} ends with '/': such objects must be empty here.")
        conditions.check(None, f"{bucket}/{name}")
        self._make_parents(bucket, name + "x", path / "x")
        stat = path.stat()
        digests = Digests.of_file(source)
        return ObjectMeta(bucket, name, 0, digests, stat.st_mtime_ns // 1000, 1,
                          stat.st_mtime_ns, stat.st_mtime_ns, {})  # fmt: skip

    def _prune(self, bucket: str, folder: Path) -> None:
        """Remove folders the delete left empty: in Cloud Storage, no objects, no folder."""
        root = self.bucket_dir(bucket)
        while folder != root and inside(root, folder):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent


_CLEARABLE = ("contentType", "contentEncoding", "contentDisposition", "contentLanguage")


def _check_checksums(fields: dict[str, Any], digests: Digests) -> None:
    """A client that sent md5Hash or crc32c with its bytes gets 400 when they differ."""
    for key, actual in (("md5Hash", digests.md5), ("crc32c", digests.crc32c)):
        given = fields.get(key)
        if given and given != actual:
            raise bad_request(
                f"Provided {key} {given!r} does not match the uploaded data ({actual!r})."
            )


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != 18:  # EXDEV: staging on another file system
            raise
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".vertexd-")
        os.close(fd)
        shutil.copyfile(source, temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)


def _files(folder: Path) -> Iterator[Path]:
    for root, _, files in os.walk(folder):
        for name in files:
            yield Path(root) / name
