"""Models and their versions, stored atomically.

A Model is a row in `resources` (kind `models`) whose body is its default version, so get,
list and list filters read it like any resource; every version, the default one too, is a
row of `model_versions`. Each write reads the model, lets the caller change a `Versions`
in memory, and stores the result in one transaction that starts with a compare-and-set on
the model's revision: two writers never both win, on SQLite or PostgreSQL, and a new
version id is never handed out twice (deleted versions stay as tombstones).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from vertexd.core.errors import AlreadyExists, NotFound
from vertexd.resources.common import now
from vertexd.store.jobs import MAX_RACES, StoreConflict
from vertexd.store.records import Record, record_of
from vertexd.store.tables import labels, model_versions, resources

MODELS = "models"
DEFAULT = "default"


@dataclass
class Versions:
    """One model's live versions (id -> body), as read; changed in memory, then stored."""

    name: str
    bodies: dict[int, dict[str, Any]]
    last_id: int  # the highest id ever given, deleted versions included
    removed: set[int] = field(default_factory=set)

    def next_id(self) -> int:
        return self.last_id + 1

    def default_id(self) -> int:
        for version_id, body in self.bodies.items():
            if DEFAULT in (body.get("versionAliases") or []):
                return version_id
        return max(self.bodies)

    def resolve(self, version: str) -> int | None:
        """A version id or alias (`default` included) -> the id, or None."""
        if version.isdigit():
            return int(version) if int(version) in self.bodies else None
        if version == DEFAULT and self.bodies:
            return self.default_id()
        for version_id, body in self.bodies.items():
            if version in (body.get("versionAliases") or []):
                return version_id
        return None


def model_not_found(name: str) -> NotFound:
    return NotFound(f'The Model "{name}" was not found.')


class ModelStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, parent: str, body: dict[str, Any]) -> dict[str, Any]:
        """A new Model whose first version is `body` (it names the model and its version)."""
        name, stamp = body["name"], now()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(resources).values(
                        name=name, kind=MODELS, parent=parent, state="",
                        display_name=body.get("displayName", ""), create_time=stamp,
                        update_time=stamp, body=body, attempt=0, revision=0,
                    )
                )  # fmt: skip
                self._insert_version(conn, name, int(body["versionId"]), body)
                self._write_labels(conn, name, body)
        except IntegrityError:
            raise AlreadyExists(f"Model {name} already exists.") from None
        return body

    def find(self, name: str) -> Versions | None:
        """The model's versions, or None when there is no such model."""
        with self.engine.connect() as conn:
            found = self._read(conn, name)
        return None if found is None else found[1]

    def get(self, name: str) -> Versions:
        found = self.find(name)
        if found is None:
            raise model_not_found(name)
        return found

    def write(self, name: str, change: Callable[[Versions], object]) -> Versions:
        """Apply `change` to the model's versions and store them (compare-and-set). `change`
        runs again on newer versions when another writer won, so it must depend only on its
        argument; it may raise to refuse."""
        for _ in range(MAX_RACES):
            with self.engine.connect() as conn:
                found = self._read(conn, name)
            if found is None:
                raise model_not_found(name)
            seen, before = found
            after = copy.deepcopy(before)
            change(after)
            if self._store(seen, before, after):
                return after
        raise StoreConflict(f"The update of {name} kept losing to other writers.")

    def delete(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(labels).where(labels.c.resource_name == name))
            conn.execute(delete(model_versions).where(model_versions.c.model == name))
            conn.execute(delete(resources).where(resources.c.name == name))

    # -- inside ------------------------------------------------------------------------------
    def _read(self, conn: Connection, name: str) -> tuple[Record, Versions] | None:
        # The model row first: a versions write always changes it, so what is read after it
        # is at least as new, and a stale read loses its compare-and-set.
        row = conn.execute(
            select(resources).where(resources.c.name == name, resources.c.kind == MODELS)
        ).first()
        if row is None:
            return None
        rows = conn.execute(
            select(model_versions).where(model_versions.c.model == name)
        ).all()  # fmt: skip
        bodies = {r.version_id: dict(r.body) for r in rows if not r.deleted}
        last_id = max((r.version_id for r in rows), default=0)
        return record_of(row), Versions(name, bodies, last_id)

    def _store(self, seen: Record, before: Versions, after: Versions) -> bool:
        default = after.bodies[after.default_id()]
        stamp = now()
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(resources)
                .where(resources.c.name == seen.name, resources.c.revision == seen.revision)
                .values(
                    body=default,
                    display_name=default.get("displayName", ""),
                    update_time=stamp,
                    revision=seen.revision + 1,
                )
            )
            if moved.rowcount != 1:
                return False
            for version_id, body in after.bodies.items():
                if version_id not in before.bodies:
                    self._insert_version(conn, seen.name, version_id, body)
                elif body != before.bodies[version_id]:
                    conn.execute(self._version_row(seen.name, version_id).values(body=body))
            for version_id in after.removed:
                conn.execute(self._version_row(seen.name, version_id).values(deleted=True))
            conn.execute(delete(labels).where(labels.c.resource_name == seen.name))
            self._write_labels(conn, seen.name, default)
        return True

    @staticmethod
    def _version_row(name: str, version_id: int) -> Any:
        return update(model_versions).where(
            model_versions.c.model == name, model_versions.c.version_id == version_id
        )

    @staticmethod
    def _insert_version(conn: Connection, name: str, version_id: int, body: dict[str, Any]) -> None:
        conn.execute(
            insert(model_versions).values(
                model=name, version_id=version_id, body=body, create_time=now(), deleted=False
            )
        )

    @staticmethod
    def _write_labels(conn: Connection, name: str, body: dict[str, Any]) -> None:
        rows = [
            {"resource_name": name, "key": k, "value": v}
            for k, v in (body.get("labels") or {}).items()
        ]
        if rows:
            conn.execute(insert(labels), rows)
