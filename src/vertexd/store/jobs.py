"""Queries over stored resources, and the named state transitions.

Each transition checks the state machine (`scheduler.states`) inside one transaction,
so a terminal state can never be left even if two callers race.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from vertexd.errors import NotFound
from vertexd.resources.common import format_time, now
from vertexd.scheduler import states
from vertexd.store.listing import ListQuery, where_clauses
from vertexd.store.tables import labels, operations, resources


@dataclass(frozen=True)
class Record:
    name: str
    kind: str
    parent: str
    state: str
    body: dict[str, Any]
    runtime: dict[str, Any] | None
    attempt: int
    create_time: datetime

    @property
    def id(self) -> str:
        return self.name.rsplit("/", 1)[-1]


def _record(row: Any) -> Record:
    return Record(
        name=row.name,
        kind=row.kind,
        parent=row.parent,
        state=row.state,
        body=row.body,
        runtime=row.runtime,
        attempt=row.attempt,
        create_time=row.create_time,
    )


class JobStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._observers: list[Callable[[Record], None]] = []

    # -- create / read / delete -------------------------------------------------
    def insert(
        self, kind: str, parent: str, body: dict[str, Any], runtime: dict[str, Any] | None = None
    ) -> Record:
        """Store a new resource; `runtime` is for the service (a trial's `{"trial": ...}`)."""
        created = now()
        with self.engine.begin() as conn:
            conn.execute(
                insert(resources).values(
                    name=body["name"],
                    kind=kind,
                    parent=parent,
                    display_name=body.get("displayName", ""),
                    state=body.get("state", ""),
                    create_time=created,
                    update_time=created,
                    body=body,
                    runtime=runtime,
                    attempt=0,
                )
            )
            label_rows = [
                {"resource_name": body["name"], "key": k, "value": v}
                for k, v in (body.get("labels") or {}).items()
            ]
            if label_rows:
                conn.execute(insert(labels), label_rows)
        return self.get(body["name"])

    def get(self, name: str) -> Record:
        with self.engine.connect() as conn:
            row = conn.execute(select(resources).where(resources.c.name == name)).first()
        if row is None:
            raise NotFound(f'The resource "{name}" was not found.')
        return _record(row)

    def find(self, name: str) -> Record | None:
        try:
            return self.get(name)
        except NotFound:
            return None

    def list_page(self, kind: str, parent: str, query: ListQuery) -> tuple[list[Record], bool]:
        """One page of records, and whether more follow."""
        stmt = select(resources).where(
            resources.c.kind == kind, resources.c.parent == parent, *where_clauses(query)
        )
        stmt = stmt.order_by(*query.order_by_columns()).offset(query.offset).limit(query.limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [_record(r) for r in rows[: query.limit]], len(rows) > query.limit

    def count(self, kind: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).where(resources.c.kind == kind)).scalar_one()
            )

    def in_states(self, short_states: Iterable[str], kind: str | None = None) -> list[Record]:
        wanted = set(short_states)
        stmt = select(resources).order_by(resources.c.create_time)
        if kind:
            stmt = stmt.where(resources.c.kind == kind)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.where(_state_in(wanted))).all()
        return [_record(r) for r in rows]

    def delete(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(labels).where(labels.c.resource_name == name))
            conn.execute(delete(resources).where(resources.c.name == name))

    # -- body updates that are not state changes ------------------------------------
    def update_body(self, name: str, change: Callable[[dict[str, Any]], None]) -> Record:
        with self.engine.begin() as conn:
            row = conn.execute(select(resources).where(resources.c.name == name)).first()
            if row is None:
                raise NotFound(f'The resource "{name}" was not found.')
            body = dict(row.body)
            change(body)
            stamp = now()
            body["updateTime"] = format_time(stamp)
            conn.execute(
                update(resources)
                .where(resources.c.name == name)
                .values(body=body, update_time=stamp)
            )
        return self.get(name)

    def set_runtime(self, name: str, runtime: dict[str, Any] | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(resources).where(resources.c.name == name).values(runtime=runtime))

    # -- named transitions ---------------------------------------------------------------
    def mark_pending(self, name: str) -> Record | None:
        return self._move(name, states.PENDING)

    def requeue(self, name: str) -> Record | None:
        return self._move(name, states.QUEUED)

    def mark_running(self, name: str) -> Record | None:
        return self._move(name, states.RUNNING, start=True)

    def mark_succeeded(self, name: str) -> Record | None:
        return self._move(name, states.SUCCEEDED, end=True)

    def mark_failed(self, name: str, code: int, message: str) -> Record | None:
        return self._move(name, states.FAILED, end=True, error={"code": code, "message": message})

    def mark_cancelling(self, name: str) -> Record | None:
        return self._move(name, states.CANCELLING)

    def mark_cancelled(self, name: str) -> Record | None:
        return self._move(
            name, states.CANCELLED, end=True, error={"code": 1, "message": "CANCELED"}
        )

    def _move(
        self,
        name: str,
        target: str,
        *,
        start: bool = False,
        end: bool = False,
        error: dict[str, Any] | None = None,
    ) -> Record | None:
        """Move to `target` if the machine allows it; None (and no write) if not."""
        with self.engine.begin() as conn:
            row = conn.execute(select(resources).where(resources.c.name == name)).first()
            if row is None or not states.can_move(row.state, target):
                return None
            full_state = _full_state(row.state, target)
            stamp = now()
            body = dict(row.body)
            body["state"] = full_state
            body["updateTime"] = format_time(stamp)
            if start and "startTime" not in body:
                body["startTime"] = format_time(stamp)
            if end:
                body["endTime"] = format_time(stamp)
            if error is not None:
                body["error"] = error
            attempt = row.attempt + (1 if target == states.PENDING else 0)
            conn.execute(
                update(resources)
                .where(resources.c.name == name)
                .values(state=full_state, body=body, update_time=stamp, attempt=attempt)
            )
        record = self.get(name)
        for observer in self._observers:
            observer(record)
        return record

    def observe(self, on_state_change: Callable[[Record], None]) -> None:
        """Call `on_state_change(record)` after every state transition (any kind of resource),
        in the thread that made it. Resources that follow another (a pipeline follows its
        backing job) use this; keep observers short."""
        self._observers.append(on_state_change)

    # -- operations (long-running operation records) -------------------------------------
    def put_operation(self, name: str, body: dict[str, Any], done: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(operations).values(name=name, body=body, done=done, create_time=now())
            )

    def get_operation(self, name: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(operations).where(operations.c.name == name)).first()
        if row is None:
            raise NotFound(f'The operation "{name}" was not found.')
        return dict(row.body)


def _full_state(current: str, target_short: str) -> str:
    prefix = current.split("_STATE_", 1)[0] if "_STATE_" in current else "JOB"
    return f"{prefix}_STATE_{target_short}"


def _state_in(short_states: set[str]) -> Any:
    return resources.c.state.in_(
        [f"{p}_STATE_{s}" for p in ("JOB", "PIPELINE") for s in short_states]
    )
