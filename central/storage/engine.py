"""Database engines for the central consumers: an SQLite file (WAL) or PostgreSQL by URL.

Called at start-up by ``central.cli`` (main thread); the engine is then used by the one thread
that applies events, or by a back-office command. SQLite connections get ``journal_mode=WAL``,
``synchronous=FULL``, ``busy_timeout`` and ``foreign_keys``, and write transactions start with
``BEGIN IMMEDIATE`` so two writers (two consumer instances, a consumer and ``kiosk-central
stock``) queue on the lock instead of failing half-way; ``read_only(conn)`` asks for a plain
``BEGIN`` instead. PostgreSQL URLs use psycopg 3 (``postgresql://`` becomes
``postgresql+psycopg://``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from central.storage.schema import SCHEMA_VERSION, metadata, schema_meta

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


class SchemaMissing(RuntimeError):
    """The database has no central schema (or another version): run ``kiosk-central db init``."""


def make_engine(url: str, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for ``url`` (``sqlite:////abs/file.db`` or ``postgresql://...``); an SQLite
    writer waits up to ``sqlite_busy_timeout_ms`` for the lock before the error is raised."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("the central database must be an SQLite file, not memory")
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", partial(_sqlite_connect, sqlite_busy_timeout_ms))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(
            f"unsupported database {parsed.get_backend_name()!r}: sqlite or postgresql"
        )
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_connect(busy_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" hook below emits BEGIN
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = "DEFERRED" if conn.get_execution_options().get("central_read_only") else "IMMEDIATE"
    conn.exec_driver_sql(f"BEGIN {mode}")


def read_only(conn: Connection) -> Connection:
    """``conn`` set to open read transactions (no write lock on SQLite): reports, checks."""
    return conn.execution_options(central_read_only=True)


def init_schema(engine: Engine) -> bool:
    """Create every table that is missing; True if the schema was created just now."""
    with engine.begin() as conn:
        existed = inspect(conn).has_table(schema_meta.name)
        metadata.create_all(conn)
        if not existed:
            conn.execute(schema_meta.insert(), [{"key": "version", "value": str(SCHEMA_VERSION)}])
    return not existed


def check_schema(engine: Engine) -> None:
    """Raise SchemaMissing unless the database holds this version of the schema."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(schema_meta.name):
            raise SchemaMissing("the database has no central schema: run `kiosk-central db init`")
        version = conn.execute(
            select(schema_meta.c.value).where(schema_meta.c.key == "version")
        ).scalar()
    if version != str(SCHEMA_VERSION):
        raise SchemaMissing(
            f"the database has schema version {version}, this code {SCHEMA_VERSION}"
        )


def insert_ignoring_duplicates(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """INSERT ``rows``; a row whose ``keys`` already exist is skipped (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys)), rows)


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (all with the keys of the first) with one DBAPI ``executemany``.

    The hot path of a batch: it skips SQLAlchemy's per-row parameter processing, which costs as
    much as SQLite's own insert. Only for plain values (str, int, bool, bytes, None)."""
    if not rows:
        return
    keys = list(rows[0])
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=keys)
    params: list[Any]
    if compiled.positional:
        order = compiled.positiontup or []
        params = [tuple(row[k] for k in order) for row in rows]
    else:
        params = [dict(row) for row in rows]
    conn.exec_driver_sql(compiled.string, params)


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying later (database down, locked, deadlock, serialization):
    the messages stay unacknowledged. Anything else is a problem with what was written."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
