"""Storage URIs: which schemes vertexd understands, and how to take one apart."""

from __future__ import annotations

import re

SUPPORTED = "gs://BUCKET/PATH, file:///PATH or a local path"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# The characters of Cloud Storage bucket names; lengths are not checked.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]*")


def split_uri(uri: str) -> tuple[str, str]:
    """("gs", "bucket/a/b"), ("file", "/x") or ("", "plain/path")."""
    match = _SCHEME.match(uri)
    if match is None:
        return "", uri
    return match[1].lower(), uri[match.end() :]


def split_bucket(rest: str) -> tuple[str, str]:
    """ "bucket/a/b" -> ("bucket", "a/b")."""
    bucket, _, key = rest.partition("/")
    return bucket, key


def check_uri(uri: str) -> str | None:
    """An error message when vertexd cannot use `uri`, None when it can."""
    if not uri.strip():
        return f"The URI is empty; use {SUPPORTED}."
    scheme, rest = split_uri(uri)
    if scheme == "gs":
        return _check_gs(uri, rest)
    if scheme == "file":
        return None if rest.startswith("/") else f"{uri} is not an absolute file:///PATH URI."
    if scheme:
        return f"The URI scheme {scheme}:// of {uri} is not supported; use {SUPPORTED}."
    return None


def _check_gs(uri: str, rest: str) -> str | None:
    bucket, key = split_bucket(rest)
    if not _BUCKET.fullmatch(bucket):
        return f"{uri} does not start with a valid bucket name (gs://BUCKET/PATH)."
    if any(part in (".", "..") for part in key.split("/")):
        return f"{uri} has a '.' or '..' path segment, which Cloud Storage paths cannot use here."
    return None
