"""The queue in create order: admission's page of queued jobs is read from an index, in
order, instead of every row of the kind being read and sorted at each pass.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_resources_kind_state_created", "resources", ["kind", "state", "create_time", "name"]
    )


def downgrade() -> None:
    op.drop_index("ix_resources_kind_state_created", table_name="resources")
