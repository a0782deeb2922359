"""Following a job's logs until it ends (`stream-logs`, `create --stream-logs`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from vertexd.cli.client import ApiClient
from vertexd.cli.common import status

SUCCEEDED = "JOB_STATE_SUCCEEDED"


def follow_logs(
    client: ApiClient,
    name: str,
    on_entry: Callable[[dict[str, Any]], None],
    task_name: str | None = None,
    polling_interval: float = 1.0,
) -> None:
    """Print every log entry of job `name` as it comes, until the job has ended and all is read."""
    offset = "0"
    while True:
        page = client.get(f"/v1/{name}/logs", {"offset": offset, "taskName": task_name})
        entries = page.get("entries") or []
        for entry in entries:
            on_entry(entry)
        offset = str(page.get("nextOffset") or offset)
        if page.get("done"):
            return
        if not entries:
            time.sleep(polling_interval)


def model_directory(job: dict[str, Any]) -> str | None:
    """`<baseOutputDirectory>/model/`, where AIP_MODEL_DIR pointed the job's replicas."""
    base = ((job.get("jobSpec") or {}).get("baseOutputDirectory") or {}).get("outputUriPrefix")
    return f"{str(base).rstrip('/')}/model/" if base else None


def report_end(job: dict[str, Any]) -> str | None:
    """Say how the job ended; returns the error to report when it did not succeed."""
    state = str(job.get("state", ""))
    status(f"CustomJob [{job.get('name')}] ended with state {state}.")
    if state == SUCCEEDED:
        model_dir = model_directory(job)
        if model_dir:
            status(f"Model directory: {model_dir}")
        return None
    message = (job.get("error") or {}).get("message")
    detail = f": {message}" if message else "."
    return f"CustomJob [{job.get('name')}] did not succeed ({state}){detail}"
