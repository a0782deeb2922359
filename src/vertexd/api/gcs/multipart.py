"""uploadType=multipart bodies (multipart/related): a JSON part, then the object's bytes.

The body is first spooled to a file; this finds the two parts in it without reading the
media into memory. Clients differ in line endings (google-cloud-storage CRLF, gcsfs LF).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vertexd.storage.gcs.errors import bad_request

_HEAD = 1 << 20  # the JSON part and the media part's headers lie in the first MiB
_TAIL = 4096
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_BLANK = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class Multipart:
    metadata: dict[str, Any]
    content_type: str | None
    start: int  # the media's first byte in the spooled body
    length: int


def boundary_of(content_type: str) -> str:
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise bad_request("A multipart upload needs Content-Type multipart/related; boundary=...")
    return match[1] or match[2]


def parse(body: Path, content_type: str) -> Multipart:
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    size = os.path.getsize(body)
    with open(body, "rb") as handle:
        head = handle.read(_HEAD)
        handle.seek(max(0, size - _TAIL))
        tail_start = handle.tell()
        tail = handle.read()
    first = head.find(delimiter)
    if first < 0:
        raise bad_request("The multipart body does not start with its boundary.")
    crlf = head.startswith(b"\r\n", first + len(delimiter))
    meta_headers_end = _after_blank(head, first)
    second = head.find(b"\n" + delimiter, meta_headers_end)
    if second < 0:
        raise bad_request("The multipart body has no second part (the object's bytes).")
    metadata = _json(head[meta_headers_end:second].rstrip(b"\r"))
    media_headers_start = second + 1 + len(delimiter)
    media_start = _after_blank(head, media_headers_start)
    closing = tail.rfind(b"\n" + delimiter + b"--")
    if closing < 0:
        raise bad_request("The multipart body does not end with its closing boundary.")
    media_end = tail_start + closing
    if crlf and closing > 0 and tail[closing - 1 : closing] == b"\r":
        media_end -= 1
    if media_end < media_start:
        raise bad_request("The multipart body is malformed.")
    media_type = _header(head[media_headers_start:media_start], "content-type")
    return Multipart(metadata, media_type, media_start, media_end - media_start)


def _after_blank(head: bytes, start: int) -> int:
    match = _BLANK.search(head, start)
    if match is None:
        raise bad_request("A part of the multipart body has no blank line after its headers.")
    return match.end()


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        raise bad_request("The first part of a multipart upload must be JSON metadata.") from None
    if not isinstance(value, dict):
        raise bad_request("The first part of a multipart upload must be a JSON object.")
    return value


def _header(block: bytes, name: str) -> str | None:
    for line in block.decode("latin-1").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name:
            return value.strip()
    return None
