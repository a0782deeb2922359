"""Listing a bucket as Cloud Storage does: names in order, `prefix`, `delimiter`, pages.

Object names are the paths of the bucket folder's files. With the delimiter "/" only the
folder the prefix points into is read (its sub-folders become `prefixes` when they hold a
file); any other delimiter, or none, walks the tree below the prefix.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vertexd.storage.gcs.errors import bad_request
from vertexd.storage.gcs.metadata import ObjectMeta
from vertexd.storage.gcs.names import inside, object_problem
from vertexd.storage.gcs.objects import ObjectStore

MAX_RESULTS = 1000


@dataclass(frozen=True)
class Page:
    items: list[ObjectMeta]
    prefixes: list[str]
    next_token: str | None


@dataclass(frozen=True)
class ListRequest:
    prefix: str = ""
    delimiter: str = ""
    page_token: str = ""
    max_results: int = MAX_RESULTS
    start_offset: str = ""
    end_offset: str = ""


def list_objects(store: ObjectStore, bucket: str, request: ListRequest) -> Page:
    root = store.bucket_dir_existing(bucket)
    after = _decode_token(request.page_token)
    items: list[ObjectMeta] = []
    prefixes: list[str] = []
    limit = max(1, min(request.max_results, MAX_RESULTS))
    last = ""
    for key, is_prefix in _entries(root, request):
        if after is not None and key <= after:
            continue
        if len(items) + len(prefixes) == limit:
            return Page(items, prefixes, _encode_token(last))
        if is_prefix:
            prefixes.append(key)
        else:
            meta = store.find(bucket, key)
            if meta is None:  # gone since the folder was read
                continue
            items.append(meta)
        last = key
    return Page(items, prefixes, None)


def _entries(root: Path, request: ListRequest) -> Iterator[tuple[str, bool]]:
    """(name, is_prefix) in name order, a prefix once, after the filters."""
    seen_prefix = ""
    prefix, delimiter = request.prefix, request.delimiter
    for name in _names(root, prefix, delimiter == "/"):
        if request.start_offset and name < request.start_offset:
            continue
        if request.end_offset and name >= request.end_offset:
            continue
        cut = name.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            group = name[: cut + len(delimiter)]
            if group != seen_prefix:
                seen_prefix = group
                yield group, True
            continue
        yield name, False


def _names(root: Path, prefix: str, one_level: bool) -> Iterator[str]:
    """Object names starting with `prefix`, sorted (as UTF-8 bytes, like Cloud Storage)."""
    folder_part = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    if object_problem(folder_part + "/x") is not None and folder_part:
        return iter(())  # no file can have such a name
    start = root / folder_part if folder_part else root
    if not start.is_dir() or not inside(root, start):
        return iter(())
    names = _shallow(root, start) if one_level else _deep(root, start)
    found = [n for n in names if n.startswith(prefix)]
    return iter(sorted(found, key=lambda n: n.encode("utf-8", "surrogatepass")))


def _deep(root: Path, start: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(start):
        here = Path(folder)
        dirs[:] = [d for d in dirs if inside(root, here / d)]
        for name in files:
            path = here / name
            if path.is_file() and inside(root, path):
                yield path.relative_to(root).as_posix()


def _shallow(root: Path, start: Path) -> Iterator[str]:
    """The files of `start`, and for each sub-folder that holds a file one name within it
    (enough to make the prefix appear)."""
    with os.scandir(start) as entries:
        for entry in entries:
            path = Path(entry.path)
            if not inside(root, path):
                continue
            if entry.is_file():
                yield path.relative_to(root).as_posix()
            elif entry.is_dir():
                first = next(_deep(root, path), None)
                if first is not None:
                    yield path.relative_to(root).as_posix() + "/" + first.rsplit("/", 1)[-1]


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode("utf-8", "surrogatepass")).decode("ascii")


def _decode_token(token: str) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8", "surrogatepass")
    except (ValueError, UnicodeError):
        raise bad_request(f"Invalid pageToken {token!r}.") from None
