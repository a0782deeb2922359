"""The `list` commands: pages from the API, then gcloud's client-side --flatten, --sort-by and
--limit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from vertexd.cli.client import ApiClient
from vertexd.cli.common import FlagSyntaxError, status
from vertexd.cli.formats import FormatError, flatten, resolve
from vertexd.cli.formats.parser import parse_key
from vertexd.cli.output import print_jobs_table, render_resource


def show_listing(client: ApiClient, jobs: list[dict[str, Any]], fmt: str | None, uri: bool) -> None:
    """What every `list` command prints: URIs, a format (yaml/json), or a table."""
    if uri:
        for job in jobs:
            print(f"{client.endpoint}/v1/{job['name']}")
    elif fmt:
        text = render_resource(jobs, fmt)
        sys.stdout.write(text)
        sys.stdout.flush()
        if not text and not fmt.strip().startswith("none"):
            status("Listed 0 items.")
    elif jobs:
        print_jobs_table(jobs)
    else:
        status("Listed 0 items.")


def list_jobs(
    client: ApiClient,
    parent: str,
    collection: str,
    filter_: str | None = None,
    limit: int | None = None,
    page_size: int | None = None,
    sort_by: str | None = None,
    flatten_keys: str | None = None,
) -> list[dict[str, Any]]:
    """All jobs of `collection` matching the filter (the API's syntax), flattened (one record
    per item of each --flatten list), sorted, at most `limit` of them."""
    keys = sort_keys(sort_by)
    flat = [key.strip() for key in (flatten_keys or "").split(",") if key.strip()]
    for key in flat:
        _checked_key("--flatten", key)
    # Sorting and flattening need every job; else stop reading once `limit` jobs are in.
    enough = None if keys or flat else limit
    jobs: list[dict[str, Any]] = []
    token = ""
    while True:
        params = {"filter": filter_, "pageSize": page_size, "pageToken": token}
        page = client.get(f"/v1/{parent}/{collection}", params)
        jobs += page.get(collection) or []
        token = str(page.get("nextPageToken") or "")
        if not token or (enough is not None and len(jobs) >= enough):
            break
    if flat:
        jobs = flatten(jobs, flat)
    for field, descending in reversed(keys):
        jobs.sort(key=_sort_key(field), reverse=descending)
    return jobs[:limit] if limit is not None else jobs


def sort_keys(sort_by: str | None) -> list[tuple[str, bool]]:
    """`~createTime,displayName` -> [(createTime, descending), (displayName, ascending)]."""
    keys = []
    for raw in (sort_by or "").split(","):
        field = raw.strip()
        descending = field.startswith("~")
        field = field.lstrip("~")
        if raw.strip() and not field:
            raise FlagSyntaxError("--sort-by", f"Invalid sort key [{raw}]")
        if field:
            _checked_key("--sort-by", field)
            keys.append((field, descending))
    return keys


def _checked_key(flag: str, key: str) -> None:
    try:
        parse_key(key)
    except FormatError as error:
        raise FlagSyntaxError(flag, f"Invalid key [{key}]: {error}") from None


def field_value(resource: dict[str, Any], key: str) -> Any:
    """The value at a key such as `a.b` or `jobSpec.workerPoolSpecs[0].machineSpec`."""
    return resolve(resource, parse_key(key))


def _sort_key(field: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda job: _sortable(field_value(job, field))


def _sortable(value: Any) -> tuple[int, Any]:
    # Missing values first, then numbers, then everything else as text.
    if value is None:
        return (0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))
