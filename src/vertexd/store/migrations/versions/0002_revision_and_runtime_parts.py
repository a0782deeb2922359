"""A revision per resource (compare-and-set), and `runtime` split into its parts.

`runtime` held three things with three owners: the backend handle, a trial's link to its
tuning job, and a tuning job's bookkeeping. Each is a column now; handles saved by an
earlier server get the `kind` that typed handles carry.

Revision ID: 0002
Revises: 0001
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_RENAMED = {
    "startTime": "start_time",
    "exitFile": "exit_file",
    "placementGroup": "placement_group",
    "nodeIp": "node_ip",
    "nodeId": "node_id",
}


def typed_handle(handle: dict[str, Any]) -> dict[str, Any]:
    """An untyped handle of revision 0001 in the typed form (backends/handles.py)."""
    if "parts" in handle:
        parts = [{**part, "handle": typed_handle(part["handle"])} for part in handle["parts"]]
        return {"kind": "routed", "order": handle["order"], "parts": parts}
    replicas = [{_RENAMED.get(k, k): v for k, v in r.items()} for r in handle["replicas"]]
    if "placementGroup" in handle:
        return {
            "kind": "ray",
            "namespace": handle["namespace"],
            "placement_group": handle["placementGroup"],
            "replicas": replicas,
            "log": handle.get("log", ""),
        }
    kind = "container" if replicas and "container" in replicas[0] else "local"
    return {"kind": kind, "replicas": replicas}


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("handle", sa.JSON, nullable=True))
        batch.add_column(sa.Column("trial", sa.JSON, nullable=True))
        batch.add_column(sa.Column("progress", sa.JSON, nullable=True))
    table = sa.table(
        "resources",
        sa.column("name", sa.String),
        sa.column("runtime", sa.JSON),
        sa.column("handle", sa.JSON),
        sa.column("trial", sa.JSON),
        sa.column("progress", sa.JSON),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(table.c.name, table.c.runtime)).all()
    for name, runtime in rows:
        if not runtime:
            continue
        parts = dict(runtime)
        handle, trial = parts.pop("handle", None), parts.pop("trial", None)
        parts.pop("backend", None)
        connection.execute(
            table.update()
            .where(table.c.name == name)
            .values(
                handle=typed_handle(handle) if handle else None,
                trial=trial,
                progress=parts or None,
            )
        )
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("runtime")


def downgrade() -> None:
    raise NotImplementedError("vertexd does not migrate down.")
