"""What a client checks about an object, kept in a sidecar beside the buckets folder.

The file is the object: its bytes, size and modification time come from the file. What the
file cannot say (contentType, custom metadata, generation, metageneration, the checksums, so
that they need not be recomputed) lives in a JSON sidecar under <meta>/BUCKET/, named by a hash
of the object name, so it never shows up as an object or in /gcs. A sidecar records the
file's signature (size, mtime, inode); when the file changed behind its back (a job wrote it,
or a person did), the sidecar no longer matches and is made anew from the file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import google_crc32c

_BLOCK = 1 << 20
# The metadata fields a client may set and read back unchanged.
EDITABLE = (
    *("contentType", "contentEncoding", "contentDisposition", "contentLanguage"),
    *("cacheControl", "metadata"),
)


@dataclass(frozen=True)
class Digests:
    md5: str  # base64 of the MD5 digest, as md5Hash
    crc32c: str  # base64 of the big-endian CRC32C, as crc32c

    @staticmethod
    def of_file(path: Path, start: int = 0, length: int | None = None) -> Digests:
        md5, crc = hashlib.md5(usedforsecurity=False), google_crc32c.Checksum()
        with open(path, "rb") as handle:
            handle.seek(start)
            left = length
            while left is None or left > 0:
                block = handle.read(_BLOCK if left is None else min(_BLOCK, left))
                if not block:
                    break
                md5.update(block)
                crc.update(block)
                left = None if left is None else left - len(block)
        return Digests(_b64(md5.digest()), _b64(crc.digest()))


@dataclass(frozen=True)
class ObjectMeta:
    bucket: str
    name: str
    size: int
    digests: Digests
    generation: int
    metageneration: int
    created_ns: int  # when this generation was written
    updated_ns: int  # when its metadata last changed
    fields: dict[str, Any] = field(default_factory=dict)  # the EDITABLE ones that are set

    @property
    def content_type(self) -> str:
        return str(self.fields.get("contentType") or "application/octet-stream")


Signature = tuple[int, int, int]


def signature(stat: os.stat_result) -> Signature:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def editable(given: dict[str, Any]) -> dict[str, Any]:
    """The fields of a client's object resource that are kept, without empty ones."""
    return {key: given[key] for key in EDITABLE if given.get(key) not in (None, "", {})}


def guess_type(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


class Sidecars:
    """The sidecar files of one buckets folder, under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, bucket: str, name: str) -> Path:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        return self.root / bucket / digest[:2] / f"{digest}.json"

    def describe(self, bucket: str, name: str, file: Path) -> ObjectMeta:
        """The metadata of the object whose bytes are `file` (which must be a regular file)."""
        stat = file.stat()
        kept = self._read(bucket, name)
        if kept is not None and kept[0] == signature(stat):
            return kept[1]
        digests = Digests.of_file(file)
        after = file.stat()
        previous = kept[1].generation if kept else 0
        meta = ObjectMeta(
            bucket,
            name,
            after.st_size,
            digests,
            max(after.st_mtime_ns // 1000, previous + 1),
            1,
            after.st_mtime_ns,
            after.st_mtime_ns,
            {"contentType": guess_type(name)},
        )
        if signature(after) == signature(stat):  # not written to while it was read
            self.write(meta, after)
        return meta

    def record(
        self, bucket: str, name: str, file: Path, digests: Digests, fields: dict[str, Any]
    ) -> ObjectMeta:
        """Metadata for bytes just put in place by the API: a new generation."""
        stat = file.stat()
        kept = self._read(bucket, name)
        previous = kept[1].generation if kept else 0
        generation = max(stat.st_mtime_ns // 1000, previous + 1)
        fields = {"contentType": guess_type(name), **fields}
        meta = ObjectMeta(
            bucket, name, stat.st_size, digests, generation, 1, stat.st_mtime_ns,
            stat.st_mtime_ns, fields,
        )  # fmt: skip
        self.write(meta, stat)
        return meta

    def update_fields(
        self, meta: ObjectMeta, file: Path, fields: dict[str, Any], now: int
    ) -> ObjectMeta:
        merged = {**meta.fields, **fields}
        if isinstance(fields.get("metadata"), dict):  # keys merge; a null value removes one
            custom = {**(meta.fields.get("metadata") or {}), **fields["metadata"]}
            merged["metadata"] = {k: v for k, v in custom.items() if v is not None}
        changed = replace(
            meta, fields=merged, metageneration=meta.metageneration + 1, updated_ns=now
        )
        self.write(changed, file.stat())
        return changed

    def forget(self, bucket: str, name: str) -> None:
        self.path(bucket, name).unlink(missing_ok=True)

    def forget_bucket(self, bucket: str) -> None:
        shutil.rmtree(self.root / bucket, ignore_errors=True)

    def write(self, meta: ObjectMeta, stat: os.stat_result) -> None:
        target = self.path(meta.bucket, meta.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        record = {"signature": list(signature(stat)), **asdict(meta)}
        with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False) as handle:
            json.dump(record, handle)
        os.replace(handle.name, target)

    def _read(self, bucket: str, name: str) -> tuple[Signature, ObjectMeta] | None:
        try:
            record = json.loads(self.path(bucket, name).read_text())
            sig = tuple(record.pop("signature"))
            record["digests"] = Digests(**record["digests"])
            meta = ObjectMeta(**record)
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if meta.name != name or len(sig) != 3:
            return None
        return (sig[0], sig[1], sig[2]), meta


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
