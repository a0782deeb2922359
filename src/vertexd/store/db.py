"""Engine creation and schema migration (Alembic, run at start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Engine, create_engine, event, make_url, text

MIGRATIONS = Path(__file__).parent / "migrations"

# PostgreSQL URLs without a driver (`postgresql://`, Heroku-style `postgres://`) use psycopg 3.
_POSTGRES_DRIVER = "postgresql+psycopg"
# A key for pg_advisory_xact_lock: servers starting at once on one database migrate in turn.
_MIGRATION_LOCK = 0x76657274  # "vert"


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'vertexd.db'}"


def normalize_url(url: str | URL) -> URL:
    """The SQLAlchemy URL vertexd connects to: `postgres://` and `postgresql://` become
    `postgresql+psycopg://` (psycopg 3, a dependency); other URLs are kept as they are."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername=_POSTGRES_DRIVER)
    return parsed


SQLITE_MMAP_BYTES = 1 << 30  # address space only; the kernel pages in what is read
# Connections kept open: one per thread that may hold one at once (the API's 40 worker
# threads, the engine's 16). A connection opened past the pool is closed when it is given
# back, and the next one pays for the open, the pragmas and reading the schema again.
SQLITE_POOL_SIZE, SQLITE_MAX_OVERFLOW = 48, 32


def make_engine(url: str | URL, autocommit: bool = False) -> Engine:
    """An engine for `url`. With `autocommit`, each statement commits by itself: no BEGIN,
    COMMIT or ROLLBACK around it, nothing to reset when a connection is given back, and no
    lock held between statements (the store's single-statement reads and writes)."""
    parsed = normalize_url(url)
    own: dict[str, Any] = {}
    if autocommit:
        own = {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None}
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_MAX_OVERFLOW,
            **own,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # Defaults for what the URL's query does not say. Timestamps come back in UTC.
        defaults = {
            "connect_timeout": 10,
            "application_name": "vertexd",
            "options": "-c timezone=UTC",
        }
        connect_args = {k: v for k, v in defaults.items() if k not in parsed.query}
        if parsed.get_driver_name() not in ("psycopg", "psycopg2"):  # libpq's parameters
            connect_args = {}
        # The API's worker threads, the scheduler, job monitors and the tuning controller
        # each hold a connection for one short statement or transaction at a time; most are
        # single statements (the autocommit engine). At most 40 a process, 80 for a server
        # (API and engine): under PostgreSQL's default max_connections of 100.
        size, overflow = (10, 20) if autocommit else (5, 5)
        return create_engine(
            parsed,
            pool_size=size,
            max_overflow=overflow,
            pool_timeout=30,
            pool_pre_ping=True,
            pool_recycle=3600,
            connect_args=connect_args,
            **own,
        )
    return create_engine(parsed, pool_pre_ping=True, **own)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Pages of the database file are read from a shared mapping, not a read() each: the
    # connection's page cache is dropped whenever the other process has written.
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (nothing to do if it is there already)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Held to the end of this transaction; DDL is transactional on PostgreSQL.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        elif connection.dialect.name == "sqlite":
            # pysqlite opens no transaction before DDL: open one, so a revision is applied
            # whole or not at all, and servers starting at once migrate in turn.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
