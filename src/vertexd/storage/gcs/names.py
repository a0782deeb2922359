"""Bucket and object names: Cloud Storage's rules, and the one way a name becomes a path.

A bucket is the folder <buckets>/BUCKET and the object NAME is the file <buckets>/BUCKET/NAME.
Every name is checked before it touches the disk, so that no name (`..`, an absolute name,
NUL, a symlink in the folder pointing elsewhere) reaches outside its bucket's folder.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

from vertexd.storage.gcs.errors import bad_request

_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9._-]*[a-z0-9]")
_MAX_OBJECT_BYTES = 1024
_MAX_SEGMENT_BYTES = 255  # a file name on Linux file systems


def bucket_problem(name: str) -> str | None:
    """Why `name` is not a valid Cloud Storage bucket name, or None."""
    if not 3 <= len(name) <= 222:
        return "bucket names have 3 to 222 characters"
    if not _BUCKET_CHARS.fullmatch(name):
        return (
            "bucket names use lowercase letters, digits, '-', '_' and '.', and start and end "
            "with a letter or digit"
        )
    if any(not 1 <= len(part) <= 63 for part in name.split(".")):
        return "each dot-separated part of a bucket name has 1 to 63 characters"
    if name.startswith("goog") or "google" in name or "g00gle" in name:
        return "bucket names cannot start with 'goog' or contain 'google'"
    if _is_ip_address(name):
        return "bucket names cannot be IP addresses"
    return None


def check_bucket(name: str) -> str:
    problem = bucket_problem(name)
    if problem:
        raise bad_request(f"Invalid bucket name {name!r}: {problem}.")
    return name


def object_problem(name: str) -> str | None:
    """Why `name` cannot be an object here, or None."""
    if not name:
        return "object names cannot be empty"
    if len(name.encode("utf-8", "surrogatepass")) > _MAX_OBJECT_BYTES:
        return "object names have at most 1024 bytes"
    if any(char in name for char in "\0\r\n"):
        return "object names cannot contain NUL, carriage return or line feed"
    if name.startswith("/"):
        return "object names cannot be absolute paths here"
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "object names cannot have empty, '.' or '..' path segments here"
    if any(len(part.encode("utf-8", "surrogatepass")) > _MAX_SEGMENT_BYTES for part in parts):
        return "each '/'-separated part of an object name has at most 255 bytes here (a file name)"
    return None


def check_object(name: str) -> str:
    problem = object_problem(name)
    if problem:
        raise bad_request(f"Invalid object name {name!r}: {problem}.")
    return name


def object_path(bucket_dir: Path, name: str) -> Path:
    """The file of object `name` in `bucket_dir`, refused (400) if it would lie outside."""
    check_object(name)
    path = bucket_dir / name.rstrip("/")
    if not inside(bucket_dir, path):
        raise bad_request(f"Object name {name!r} leads outside its bucket.")
    return path


def inside(bucket_dir: Path, path: Path) -> bool:
    """True when `path`, with every symlink followed, lies in `bucket_dir`."""
    root = os.path.realpath(bucket_dir)
    real = os.path.realpath(path)
    return real == root or real.startswith(root + os.sep)


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
