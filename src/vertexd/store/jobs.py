"""Queries over stored resources, and the named state transitions.

Every write of a resource's state or body is a compare-and-set: it reads the row, computes
the new one, and writes it with `UPDATE ... WHERE name = :name AND revision = :seen` (state
changes also `AND state = :seen_state`), checking that exactly one row changed. When another
writer got there first, the change is computed again from what it wrote, or refused when the
state machine no longer allows it. So two writers can never both pass the same check, a
terminal state is never left, and no update is lost, on SQLite and PostgreSQL alike.

Who writes what (one owner per part): a CustomJob's state and `handle` are written by the
scheduler (admission, and the job's supervisor); a tuning job's state, `trials[]` and
`progress` by the tuning controller; a pipeline's state and body by the pipeline follower.
The services only insert and delete.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from functools import cache
from typing import Any

from sqlalchemy import Engine, Update, bindparam, delete, func, insert, select, update

from vertexd.core import states
from vertexd.core.errors import NotFound
from vertexd.resources.common import format_time, now
from vertexd.store.db import make_engine
from vertexd.store.listing import ListQuery, where_clauses
from vertexd.store.records import Record, TrialLink, record_of
from vertexd.store.tables import labels, operations, resources

# A compare-and-set that loses this many times in a row is a bug, not contention.
MAX_RACES = 100

# The statements every job runs several times, built once: building a statement and its
# cache key costs more than SQLite's own work for a read by primary key.
_INSERT = insert(resources)
_FIND = select(resources).where(resources.c.name == bindparam("seen_name"))


# A page of names of one kind in one state, oldest first: one state, so that the rows come in
# order from ix_resources_kind_state_created (an IN list would be sorted at each read).
_NAMES_IN_STATE = (
    select(resources.c.name)
    .where(resources.c.kind == bindparam("kind"), resources.c.state == bindparam("state"))
    .order_by(resources.c.create_time, resources.c.name)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


class StoreConflict(RuntimeError):
    """An update kept losing its compare-and-set."""


class JobStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # for the transactions of more than one statement
        # Reads and writes of one statement run on a twin engine in autocommit. A write then
        # commits within its statement, so no write lock is held while Python runs (or waits
        # for the GIL) before a COMMIT: on SQLite, another process's writer would sleep as long
        # (1-5 ms at a time). A read needs no BEGIN or ROLLBACK. On its own engine, not as an
        # execution option, a connection is not switched to autocommit and back at each use
        # (a third of a write's CPU on SQLite; a round trip on PostgreSQL).
        self._one_statement = make_engine(engine.url, autocommit=True)
        self._observers: list[Callable[[Record], None]] = []

    def close(self) -> None:
        """Close the connections of both engines."""
        self._one_statement.dispose()
        self.engine.dispose()

    # -- create / read / delete -------------------------------------------------
    def insert(
        self, kind: str, parent: str, body: dict[str, Any], trial: TrialLink | None = None
    ) -> Record:
        """Store a new resource (`trial`: the trial a CustomJob runs for)."""
        created = now()
        values = {
            "name": body["name"],
            "kind": kind,
            "parent": parent,
            "display_name": body.get("displayName", ""),
            "state": body.get("state", ""),
            "create_time": created,
            "update_time": created,
            "body": body,
            "attempt": 0,
            "revision": 0,
            "trial": trial.to_json() if trial else None,
        }
        label_rows = [
            {"resource_name": body["name"], "key": k, "value": v}
            for k, v in (body.get("labels") or {}).items()
        ]
        # With labels, two statements: one transaction. Without, the row commits alone.
        writing = self.engine.begin() if label_rows else self._one_statement.connect()
        with writing as conn:
            conn.execute(_INSERT, values)
            if label_rows:
                conn.execute(insert(labels), label_rows)
        return Record(body["name"], kind, parent, values["state"], body, 0, 0, created, trial=trial)

    def get(self, name: str) -> Record:
        found = self.find(name)
        if found is None:
            raise NotFound(f'The resource "{name}" was not found.')
        return found

    def find(self, name: str) -> Record | None:
        with self._one_statement.connect() as conn:
            row = conn.execute(_FIND, {"seen_name": name}).first()
        return None if row is None else record_of(row)

    def list_page(
        self, kind: str, parent: str, query: ListQuery
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of bodies (what a list answers), and whether more follow. Only the body
        column is read: a row's other parts would be decoded for nothing."""
        stmt = self.list_statement(kind, parent, query)
        with self._one_statement.connect() as conn:
            bodies = list(conn.execute(stmt).scalars())
        return bodies[: query.limit], len(bodies) > query.limit

    @staticmethod
    def list_statement(kind: str, parent: str, query: ListQuery) -> Any:
        """The SELECT of one page of bodies (one row more than the page: whether more
        follow)."""
        stmt = select(resources.c.body).where(
            resources.c.kind == kind, resources.c.parent == parent, *where_clauses(query)
        )
        return stmt.order_by(*query.order_by_columns()).offset(query.offset).limit(query.limit + 1)

    def count(self, kind: str) -> int:
        with self._one_statement.connect() as conn:
            return int(
                conn.execute(select(func.count()).where(resources.c.kind == kind)).scalar_one()
            )

    def in_states(self, short_states: Iterable[str], kind: str | None = None) -> list[Record]:
        """Every record in one of the states, oldest first."""
        stmt = select(resources).where(_state_in(set(short_states)))
        if kind:
            stmt = stmt.where(resources.c.kind == kind)
        with self._one_statement.connect() as conn:
            rows = conn.execute(stmt.order_by(resources.c.create_time)).all()
        return [record_of(r) for r in rows]

    def names_in_state(self, full_state: str, kind: str, limit: int, offset: int = 0) -> list[str]:
        """A page of the names only, oldest first, of one kind in one state (its full name,
        JOB_STATE_QUEUED): what admission reads after every state change."""
        wanted = {"kind": kind, "state": full_state, "limit": limit, "offset": offset}
        with self._one_statement.connect() as conn:
            return list(conn.execute(_NAMES_IN_STATE, wanted).scalars())

    def delete(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(labels).where(labels.c.resource_name == name))
            conn.execute(delete(resources).where(resources.c.name == name))

    # -- writes that are not state changes -----------------------------------------------
    def update_body(self, name: str, change: Callable[[dict[str, Any]], object]) -> Record:
        """Apply `change` to a copy of the body and store it (compare-and-set). `change` runs
        again on the newer body when another writer won, so it must only depend on its
        argument."""
        for _ in range(MAX_RACES):
            seen = self.get(name)
            body = copy.deepcopy(seen.body)
            change(body)
            stamp = now()
            body["updateTime"] = format_time(stamp)
            if self._swap(seen, body=body, update_time=stamp):
                return replace(seen, body=body, revision=seen.revision + 1)
        raise StoreConflict(f"The update of {name} kept losing to other writers.")

    def set_handle(self, name: str, handle: dict[str, Any] | None) -> None:
        """What the backend started for the job (its supervisor is the only writer)."""
        self._set(name, handle=handle)

    def set_progress(self, name: str, progress: dict[str, Any]) -> None:
        """A tuning job's bookkeeping (the tuning controller is the only writer)."""
        self._set(name, progress=progress)

    def _set(self, name: str, **values: Any) -> None:
        """An owner's write of a part beside the body; a new revision all the same, so that a
        record read before it is never taken for the row as it is."""
        stmt = update(resources).where(resources.c.name == name)
        with self._one_statement.connect() as conn:
            conn.execute(stmt.values(**values, revision=resources.c.revision + 1))

    # -- named transitions ---------------------------------------------------------------
    def mark_pending(
        self, name: str, devices: list[list[str]] | None = None, seen: Record | None = None
    ) -> Record | None:
        """Admitted, holding `devices` (GPU ids per replica) from now on."""
        return self._move(name, states.PENDING, devices=devices, seen=seen)

    def requeue(self, name: str) -> Record | None:
        return self._move(name, states.QUEUED, devices=None)

    def mark_running(
        self, name: str, handle: dict[str, Any] | None = None, seen: Record | None = None
    ) -> Record | None:
        """RUNNING; with `handle`, what the backend started is saved in the same write (when
        the move is refused, the caller saves it with `set_handle`)."""
        columns: dict[str, Any] = {} if handle is None else {"handle": handle}
        return self._move(name, states.RUNNING, start=True, seen=seen, **columns)

    def mark_succeeded(self, name: str, seen: Record | None = None) -> Record | None:
        return self._move(name, states.SUCCEEDED, end=True, seen=seen)

    def mark_failed(
        self, name: str, code: int, message: str, seen: Record | None = None
    ) -> Record | None:
        error = {"code": code, "message": message}
        return self._move(name, states.FAILED, end=True, error=error, seen=seen)

    def mark_cancelling(self, name: str) -> Record | None:
        return self._move(name, states.CANCELLING)

    def mark_cancelled(self, name: str, only_from: Collection[str] = ()) -> Record | None:
        """CANCELLED; with `only_from` (short states), only when the job is in one of them."""
        error = {"code": 1, "message": "CANCELED"}
        return self._move(name, states.CANCELLED, end=True, error=error, only_from=only_from)

    def _move(
        self,
        name: str,
        target: str,
        *,
        start: bool = False,
        end: bool = False,
        error: dict[str, Any] | None = None,
        only_from: Collection[str] = (),
        seen: Record | None = None,
        **columns: Any,
    ) -> Record | None:
        """Move to `target` if the state machine allows it from the state the row is in now;
        None (and no write) if it does not. `columns` (parts beside the resource) are written
        in the same compare-and-set. Observers hear of every move that was made. `seen`, the
        record as the caller last read or wrote it, spares the first read: when the row has
        changed since, the compare-and-set fails and the row is read."""
        told = seen is not None  # the caller's record, which may be older than the row
        for _ in range(MAX_RACES):
            if seen is None:
                seen, told = self.find(name), False
            if seen is None or not _allowed(seen.state, target, only_from):
                if told:  # decide on the row as it is, not on what the caller saw
                    seen = None
                    continue
                return None
            full_state, stamp = states.full_name(seen.state, target), now()
            body = {**seen.body, "state": full_state, "updateTime": format_time(stamp)}
            if start and "startTime" not in body:
                body["startTime"] = format_time(stamp)
            if end:
                body["endTime"] = format_time(stamp)
            if error is not None:
                body["error"] = error
            attempt = seen.attempt + (1 if target == states.PENDING else 0)
            values = {"state": full_state, "body": body, "update_time": stamp, "attempt": attempt}
            if not self._swap(seen, **values, **columns):
                seen = None  # another writer was first: read the row as it is now
                continue
            moved = replace(
                seen,
                state=full_state,
                body=body,
                attempt=attempt,
                revision=seen.revision + 1,
                **columns,
            )
            for observer in self._observers:
                observer(moved)
            return moved
        raise StoreConflict(f"The move of {name} to {target} kept losing to other writers.")

    def _swap(self, seen: Record, **values: Any) -> bool:
        """Write `values` only if the row is still as `seen` (the compare-and-set)."""
        stmt = _swap_statement(tuple(sorted(values)))
        where = {"seen_name": seen.name, "seen_revision": seen.revision, "seen_state": seen.state}
        with self._one_statement.connect() as conn:
            return (
                conn.execute(stmt, {**values, **where, "revision": seen.revision + 1}).rowcount == 1
            )

    def observe(self, on_state_change: Callable[[Record], None]) -> None:
        """Call `on_state_change(record)` after every state transition (any kind of resource),
        in the thread that made it. Resources that follow another (a pipeline follows its
        backing job) use this; keep observers short and thread-safe."""
        self._observers.append(on_state_change)

    # -- operations (long-running operation records) -------------------------------------
    def put_operation(self, name: str, body: dict[str, Any], done: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(operations).values(name=name, body=body, done=done, create_time=now())
            )

    def get_operation(self, name: str) -> dict[str, Any]:
        with self._one_statement.connect() as conn:
            row = conn.execute(select(operations).where(operations.c.name == name)).first()
        if row is None:
            raise NotFound(f'The operation "{name}" was not found.')
        return dict(row.body)


@cache
def _swap_statement(columns: tuple[str, ...]) -> Update:
    """The compare-and-set that writes `columns` (and the next revision), one per set."""
    return (
        update(resources)
        .where(
            resources.c.name == bindparam("seen_name"),
            resources.c.revision == bindparam("seen_revision"),
            resources.c.state == bindparam("seen_state"),
        )
        .values({column: bindparam(column) for column in (*columns, "revision")})
    )


def _full_states(short_states: set[str]) -> list[str]:
    return [f"{p}_STATE_{s}" for p in states.PREFIXES for s in short_states]


def _state_in(short_states: set[str]) -> Any:
    return resources.c.state.in_(_full_states(short_states))


def _allowed(state: str, target: str, only_from: Collection[str]) -> bool:
    """Whether the state machine allows the move (and `only_from`, when given, names the
    state it starts from)."""
    if not states.can_move(state, target):
        return False
    return not only_from or states.short(state) in only_from
