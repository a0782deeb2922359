"""Initial schema: resources, labels, operations.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("parent", sa.String(256), nullable=False),
        sa.Column("display_name", sa.String(512), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("runtime", sa.JSON, nullable=True),
        sa.Column("attempt", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_resources_kind_parent_created", "resources", ["kind", "parent", "create_time"]
    )
    op.create_index("ix_resources_state", "resources", ["state"])
    op.create_table(
        "labels",
        sa.Column("resource_name", sa.String(512), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_index("ix_labels_key_value", "labels", ["key", "value"])
    op.create_table(
        "operations",
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("operations")
    op.drop_table("labels")
    op.drop_table("resources")
