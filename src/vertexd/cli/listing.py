"""The `list` commands: pages from the API, then gcloud's client-side --sort-by and --limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vertexd.cli.client import ApiClient
from vertexd.cli.common import FlagSyntaxError, status
from vertexd.cli.output import print_jobs_table, print_resource


def show_listing(client: ApiClient, jobs: list[dict[str, Any]], fmt: str | None, uri: bool) -> None:
    """What every `list` command prints: URIs, a format (yaml/json), or a table."""
    if uri:
        for job in jobs:
            print(f"{client.endpoint}/v1/{job['name']}")
    elif fmt:
        print_resource(jobs, fmt)
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
) -> list[dict[str, Any]]:
    """All jobs of `collection` matching the filter (the API's syntax), sorted, at most
    `limit` of them."""
    keys = sort_keys(sort_by)
    # Sorting needs every job; without it, stop reading once `limit` jobs are in.
    enough = None if keys else limit
    jobs: list[dict[str, Any]] = []
    token = ""
    while True:
        params = {"filter": filter_, "pageSize": page_size, "pageToken": token}
        page = client.get(f"/v1/{parent}/{collection}", params)
        jobs += page.get(collection) or []
        token = str(page.get("nextPageToken") or "")
        if not token or (enough is not None and len(jobs) >= enough):
            break
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
            keys.append((field, descending))
    return keys


def field_value(resource: dict[str, Any], dotted: str) -> Any:
    value: Any = resource
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _sort_key(field: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda job: _sortable(field_value(job, field))


def _sortable(value: Any) -> tuple[int, Any]:
    # Missing values first, then numbers, then everything else as text.
    if value is None:
        return (0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))
