"""Long-running operations. Every operation vertexd starts is finished when it is answered
(deletes are immediate), but clients still poll them, so they are stored."""

from __future__ import annotations

import random
from typing import Any

from vertexd.resources.common import format_time, now
from vertexd.store.jobs import JobStore

DELETE_METADATA = "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata"
EMPTY = "type.googleapis.com/google.protobuf.Empty"


class OperationService:
    def __init__(self, store: JobStore) -> None:
        self.store = store

    def finished_delete(self, resource_name: str) -> dict[str, Any]:
        return self.finished(resource_name, DELETE_METADATA, {"@type": EMPTY})

    def finished(
        self, resource_name: str, metadata_type: str, response: dict[str, Any]
    ) -> dict[str, Any]:
        """A done Operation under `resource_name`, with its `response` (an `@type`'d Any)."""
        stamp = format_time(now())
        body: dict[str, Any] = {
            "name": f"{resource_name}/operations/{random.randrange(10**18, 10**19)}",
            "metadata": {
                "@type": metadata_type,
                "genericMetadata": {"createTime": stamp, "updateTime": stamp},
            },
            "done": True,
            "response": response,
        }
        self.store.put_operation(body["name"], body, done=True)
        return body

    def get(self, name: str) -> dict[str, Any]:
        return self.store.get_operation(name)
