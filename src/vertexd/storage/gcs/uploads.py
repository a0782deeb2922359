"""Resumable uploads: a session per upload, its bytes gathered in a file until complete.

A session is a folder under <meta>/uploads/ holding `session.json` (where the object goes,
its metadata and preconditions, the total size once known) and `data`, the bytes received so
far. Each chunk names its place with Content-Range (`bytes 0-262143/*`, `bytes */1000`);
the bytes after the last received one are written, and when the total is reached the data
file becomes the object.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from vertexd.storage.gcs.conditions import Conditions
from vertexd.storage.gcs.errors import GcsError, bad_request, not_found
from vertexd.storage.gcs.metadata import ObjectMeta
from vertexd.storage.gcs.objects import ObjectStore

_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class ContentRange:
    start: int | None  # None: no bytes in this request (a status query or the final call)
    end: int | None  # inclusive
    total: int | None  # None: not known yet ("*")

    @staticmethod
    def parse(header: str | None, body_length: int | None) -> ContentRange:
        """The chunk's place; no header means the whole object in one request."""
        if not header:
            return ContentRange(0 if body_length else None, (body_length or 0) - 1, body_length)
        match = _RANGE.fullmatch(header.strip())
        if match is None:
            raise bad_request(f"Invalid Content-Range {header!r}; expected 'bytes A-B/TOTAL'.")
        start, end, total = match.groups()
        if start is not None and int(end) < int(start):
            raise bad_request(f"Invalid Content-Range {header!r}: the range ends before it starts.")
        return ContentRange(
            int(start) if start is not None else None,
            int(end) if end is not None else None,
            None if total == "*" else int(total),
        )


@dataclass(frozen=True)
class Session:
    bucket: str
    name: str
    fields: dict[str, Any]
    conditions: dict[str, int | None]
    total: int | None = None


@dataclass(frozen=True)
class Progress:
    received: int  # bytes persisted so far
    done: ObjectMeta | None  # the object, once complete


class Uploads:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.root = store.uploads_dir

    def start(self, session: Session) -> str:
        self.store.bucket_dir_existing(session.bucket)
        self.store.path(session.bucket, session.name)  # the name is checked now, not at the end
        Conditions(**session.conditions).check(
            self.store.find(session.bucket, session.name), f"{session.bucket}/{session.name}"
        )
        upload_id = secrets.token_urlsafe(24)
        folder = self.root / upload_id
        folder.mkdir(parents=True)
        (folder / "data").touch()
        (folder / "session.json").write_text(json.dumps(asdict(session)))
        return upload_id

    def session(self, upload_id: str) -> Session:
        try:
            if not _SESSION_ID.fullmatch(upload_id):
                raise FileNotFoundError(upload_id)
            return Session(**json.loads((self.root / upload_id / "session.json").read_text()))
        except (OSError, ValueError, TypeError):
            raise not_found(
                f"No upload session {upload_id!r} (finished, cancelled or unknown)."
            ) from None

    def received(self, upload_id: str) -> int:
        self.session(upload_id)
        return (self.root / upload_id / "data").stat().st_size

    def open_chunk(self, upload_id: str, place: ContentRange) -> BinaryIO | None:
        """The data file, positioned where the chunk's bytes go; None when the chunk starts
        past what was received (the client is told what it has, and resends)."""
        data = self.root / upload_id / "data"
        received = self.received(upload_id)
        if place.start is None:
            return None
        if place.start > received:
            return None
        handle = open(data, "r+b")
        handle.truncate(place.start)
        handle.seek(place.start)
        return handle

    def finish_chunk(
        self, upload_id: str, place: ContentRange, checksums: dict[str, str] | None = None
    ) -> Progress:
        """After the chunk's bytes are written: complete the object if they were the last
        (`checksums`, md5Hash or crc32c the client sent with its last chunk, must match)."""
        session = self.session(upload_id)
        data = self.root / upload_id / "data"
        received = data.stat().st_size
        total = place.total if place.total is not None else session.total
        if place.end is not None and place.start is not None and received != place.end + 1:
            if received < place.start:
                return Progress(received, None)  # the chunk was not taken: resend from here
            if received <= place.end:
                raise bad_request(
                    f"The chunk {place.start}-{place.end} had {received - place.start} bytes."
                )
        if total is None or received < total:
            return Progress(received, None)
        if received > total:
            raise bad_request(f"The upload has {received} bytes, more than its total of {total}.")
        try:
            fields = {**session.fields, **(checksums or {})}
            conditions = Conditions(**session.conditions)
            meta = self.store.put(session.bucket, session.name, data, fields, conditions)
        except GcsError as error:
            if error.code in (400, 412):
                self.cancel(upload_id)
            raise
        self.cancel(upload_id)
        return Progress(received, meta)

    def cancel(self, upload_id: str) -> None:
        if _SESSION_ID.fullmatch(upload_id):
            shutil.rmtree(self.root / upload_id, ignore_errors=True)

    def path_of(self, upload_id: str) -> Path:
        return self.root / upload_id / "data"
