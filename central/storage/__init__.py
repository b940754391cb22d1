"""The central database: schema (SQLAlchemy Core) and engines for SQLite and PostgreSQL."""

from central.storage.engine import (
    SchemaMissing,
    bulk_insert,
    check_schema,
    init_schema,
    insert_ignoring_duplicates,
    is_transient,
    make_engine,
    read_only,
)

__all__ = [
    "SchemaMissing",
    "bulk_insert",
    "check_schema",
    "init_schema",
    "insert_ignoring_duplicates",
    "is_transient",
    "make_engine",
    "read_only",
]
