"""Model versions: a table of every version of every Model.

A Model's row in `resources` keeps the body of its default version (what get, list and
their filters read); `model_versions` holds each version, ids 1, 2, ... per model. Models
stored before this revision had one version: it is copied in as version 1 (or the version
its body names), with the alias `default`.

Revision ID: 0004
Revises: 0003
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("model", sa.String(512), primary_key=True),
        sa.Column("version_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    resources = sa.table(
        "resources",
        sa.column("name", sa.String),
        sa.column("kind", sa.String),
        sa.column("body", sa.JSON),
        sa.column("create_time", sa.DateTime(timezone=True)),
    )
    versions = sa.table(
        "model_versions",
        sa.column("model", sa.String),
        sa.column("version_id", sa.Integer),
        sa.column("body", sa.JSON),
        sa.column("create_time", sa.DateTime(timezone=True)),
        sa.column("deleted", sa.Boolean),
    )
    connection = op.get_bind()
    query = sa.select(resources.c.name, resources.c.body, resources.c.create_time)
    for name, body, created in connection.execute(query.where(resources.c.kind == "models")):
        version = str((body or {}).get("versionId") or "1")
        aliases = list((body or {}).get("versionAliases") or [])
        moved = {**body, "versionId": version, "versionAliases": aliases or ["default"]}
        connection.execute(
            versions.insert().values(
                model=name,
                version_id=int(version) if version.isdigit() else 1,
                body=moved,
                create_time=created or datetime.now(UTC),
                deleted=False,
            )
        )
        connection.execute(resources.update().where(resources.c.name == name).values(body=moved))


def downgrade() -> None:
    raise NotImplementedError("vertexd does not migrate down.")
