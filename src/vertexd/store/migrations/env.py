"""Alembic environment: vertexd passes its own connection in `config.attributes`."""

from alembic import context
from sqlalchemy import create_engine

from vertexd.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:  # `alembic` command line, for writing new revisions
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///vertexd.db")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
