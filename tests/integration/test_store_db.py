"""kiosk.store.db and migrations: pragmas on every connection, schema versions, error mapping."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from kiosk.errors import IntegrityError, SchemaTooNew, StorageFull, StorageReadOnly, StoreError
from kiosk.store.db import connect, map_error, open_db, translate_errors, write_transaction
from kiosk.store.migrations import SCHEMA_VERSION, migrate, schema_version


def pragmas(conn: sqlite3.Connection) -> tuple[object, ...]:
    return tuple(
        conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
    )


EXPECTED = ("wal", 2, 5000, 1)  # synchronous FULL is 2


def test_open_db_sets_the_pragmas_on_every_connection(db_path: Path) -> None:
    first = open_db(db_path)
    second = open_db(db_path)
    raw = connect(db_path)
    read_only = connect(db_path, read_only=True)
    try:
        for conn in (first.conn, second.conn, raw, read_only):
            assert pragmas(conn) == EXPECTED
    finally:
        for conn in (first.conn, second.conn, raw, read_only):
            conn.close()


def test_open_db_creates_the_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "kiosk.db"
    open_db(path).close()
    assert path.is_file()


def test_migrate_creates_the_schema_and_records_its_version(db: sqlite_utils.Database) -> None:
    assert schema_version(db.conn) == SCHEMA_VERSION
    for table in (
        "products",
        "product_gtins",
        "products_fts",
        "staff",
        "members",
        "lane",
        "payment_intents",
        "sales",
        "sale_lines",
        "sale_tenders",
        "journal",
        "outbox",
        "audit",
        "kiosk_state",
    ):
        assert db.table(table).exists(), table


def test_migrate_is_idempotent(db_path: Path, db: sqlite_utils.Database) -> None:
    schema = db.execute("SELECT sql FROM sqlite_schema ORDER BY name").fetchall()
    again = open_db(db_path)
    assert migrate(again) == SCHEMA_VERSION
    assert migrate(again) == SCHEMA_VERSION
    assert again.execute("SELECT sql FROM sqlite_schema ORDER BY name").fetchall() == schema
    assert again.execute("SELECT count(*) FROM lane").fetchone()[0] == 1
    again.close()


def test_migrate_refuses_a_newer_schema(db_path: Path, db: sqlite_utils.Database) -> None:
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    newer = open_db(db_path)
    with pytest.raises(SchemaTooNew) as caught:
        migrate(newer)
    assert str(caught.value) == (
        f"kiosk.db schema version {SCHEMA_VERSION + 5} is newer than this software "
        f"({SCHEMA_VERSION}); upgrade the kiosk software or restore a backup"
    )
    newer.close()


def test_migrate_records_the_fts_tokenizer(db: sqlite_utils.Database) -> None:
    row = db.execute("SELECT value FROM kiosk_state WHERE key = 'fts_tokenizer'").fetchone()
    assert row[0] == "trigram"  # SQLite >= 3.34 everywhere we run


def test_open_db_on_a_garbage_file_is_an_integrity_error(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    path.write_bytes(b"this is not a database" * 400)
    with pytest.raises(IntegrityError, match="damaged"):
        open_db(path)


def test_write_transaction_rolls_back_on_error(db: sqlite_utils.Database) -> None:
    with pytest.raises(RuntimeError), write_transaction(db.conn) as conn:
        conn.execute("INSERT INTO audit (kind, detail) VALUES ('x', '{}')")
        raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == 0
    assert not db.conn.in_transaction


def test_translate_errors_maps_a_constraint_to_store_error(db: sqlite_utils.Database) -> None:
    with pytest.raises(StoreError, match=r"kiosk\.db error"), translate_errors():
        db.conn.execute("INSERT INTO lane (id) VALUES (1)")


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("database or disk is full", StorageFull),
        ("attempt to write a readonly database", StorageReadOnly),
        ("unable to open database file", StorageReadOnly),
        ("file is not a database", IntegrityError),
        ("database disk image is malformed", IntegrityError),
        ("no such table: x", StoreError),
    ],
)
def test_map_error_uses_the_message_when_there_is_no_code(
    message: str, kind: type[StoreError]
) -> None:
    assert type(map_error(sqlite3.OperationalError(message))) is kind


def test_read_only_open_of_a_rollback_journal_file_works(tmp_path: Path) -> None:
    # A backup copy is in rollback-journal mode; a read-only open (db check) must not try to
    # switch it to WAL, which would fail with "attempt to write a readonly database".
    path = tmp_path / "backup.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode=DELETE")
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    raw.close()
    conn = connect(path, read_only=True)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    finally:
        conn.close()
