"""The tables. The full resource lives in `body` (its wire form); columns beside it are
the parts that lists filter and sort on, and the parts of a job that are not the resource.
Changes here need an Alembic revision."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table

metadata = MetaData()

resources = Table(
    "resources",
    metadata,
    Column("name", String(512), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("parent", String(256), nullable=False),
    Column("display_name", String(512), nullable=False, default=""),
    Column("state", String(64), nullable=False, default=""),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Column("body", JSON, nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    # Bumped by every write of state or body: the compare-and-set of the store's updates.
    Column("revision", Integer, nullable=False, default=0),
    # Parts of a job beside its resource, one owner each (see jobs.py):
    # what the backend started (the supervisor), the trial it runs (written at creation),
    # and a tuning job's bookkeeping (the tuning controller).
    Column("handle", JSON, nullable=True),
    Column("trial", JSON, nullable=True),
    Column("progress", JSON, nullable=True),
    # The GPUs an admitted job holds, per replica (the scheduler, with the admission).
    Column("devices", JSON, nullable=True),
    Index("ix_resources_kind_parent_created", "kind", "parent", "create_time"),
    Index("ix_resources_state", "state"),
    # Admission's page of queued jobs, in order (`JobStore.names_in_state`).
    Index("ix_resources_kind_state_created", "kind", "state", "create_time", "name"),
)

labels = Table(
    "labels",
    metadata,
    Column("resource_name", String(512), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
    Index("ix_labels_key_value", "key", "value"),
)

# Every version of every Model (the resources row of a Model holds its default version).
# A deleted version stays as a row with `deleted` set, so its id is never given again.
model_versions = Table(
    "model_versions",
    metadata,
    Column("model", String(512), primary_key=True),
    Column("version_id", Integer, primary_key=True, autoincrement=False),
    Column("body", JSON, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
)

operations = Table(
    "operations",
    metadata,
    Column("name", String(512), primary_key=True),
    Column("done", Boolean, nullable=False, default=False),
    Column("body", JSON, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
)
