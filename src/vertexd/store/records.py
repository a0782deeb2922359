"""What the store hands out: one stored resource, as it was read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TrialLink:
    """The trial a CustomJob runs for: written when the job is created, never changed."""

    id: str
    tuning_job: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "tuningJob": self.tuning_job}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> TrialLink | None:
        return cls(str(data["id"]), str(data["tuningJob"])) if data else None


@dataclass(frozen=True)
class Record:
    name: str
    kind: str
    parent: str
    state: str
    body: dict[str, Any]
    attempt: int
    revision: int
    create_time: datetime
    handle: dict[str, Any] | None = None  # what a backend started (owner: the job's supervisor)
    trial: TrialLink | None = None  # a trial's CustomJob: which trial of which tuning job
    progress: dict[str, Any] | None = None  # a tuning job's bookkeeping (owner: the controller)
    # GPU ids per replica, in plan order, while the job holds them (owner: the scheduler)
    devices: list[list[str]] | None = None

    @property
    def id(self) -> str:
        return self.name.rsplit("/", 1)[-1]


def record_of(row: Any) -> Record:
    return Record(
        name=row.name,
        kind=row.kind,
        parent=row.parent,
        state=row.state,
        body=row.body,
        attempt=row.attempt,
        revision=row.revision,
        create_time=row.create_time,
        handle=row.handle,
        trial=TrialLink.from_json(row.trial),
        progress=row.progress,
        devices=row.devices,
    )
