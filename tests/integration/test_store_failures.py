"""Disk full and read-only storage, simulated on real kiosk.db files.

Disk full: ``PRAGMA max_page_count`` caps the database at its current size, so the next
transaction that needs a new page fails with SQLITE_FULL, exactly as on a full disk.

Read-only: the tests run as root, and root ignores file permissions (chmod 0444 would not stop
it). Two methods reach the same SQLite error (SQLITE_READONLY, "attempt to write a readonly
database") that a read-only file, folder or mount gives a non-root kiosk user: opening the file
with the URI ``mode=ro`` (``open_db(path, read_only=True)``) and ``PRAGMA query_only=ON`` on a
normal connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from kiosk.errors import StorageFull, StorageReadOnly
from kiosk.store.check import check_db
from kiosk.store.db import open_db
from kiosk.store.lane_store import SqliteLaneStore
from tests.integration.conftest import KIOSK, SaleFactory


def fill_to_the_limit(db: sqlite_utils.Database) -> None:
    """No free page left and no growth allowed."""
    db.execute("VACUUM")
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    db.execute("PRAGMA max_page_count = 1")  # SQLite clamps it to the current page count


def counts(db: sqlite_utils.Database) -> list[int]:
    return [
        int(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
        for t in ("sales", "sale_lines", "journal", "outbox")
    ]


def test_complete_sale_on_a_full_db_is_storage_full_and_loses_nothing(
    store: SqliteLaneStore, db: sqlite_utils.Database, db_path: Path, sales: SaleFactory
) -> None:
    recorded = [store.complete_sale(sales.make(), {"state": "idle"}) for _ in range(3)]
    store.save_lane({"state": "paying"})
    fill_to_the_limit(db)
    with pytest.raises(StorageFull, match=r"kiosk\.db is full"):
        store.complete_sale(sales.make(lines=40), {"state": "idle"})
    assert not db.conn.in_transaction
    fresh = open_db(db_path)
    assert counts(fresh) == [3, 6, 3, 3]
    assert SqliteLaneStore(fresh, KIOSK).load_lane() == {"state": "paying"}
    assert SqliteLaneStore(fresh, KIOSK).last_sales(1)[0].event["hash"] == recorded[-1].hash
    assert check_db(fresh).ok
    fresh.close()


def test_check_writable_reports_a_full_db(
    store: SqliteLaneStore, db: sqlite_utils.Database
) -> None:
    store.check_writable()
    fill_to_the_limit(db)
    with pytest.raises(StorageFull):
        store.check_writable()


def test_check_writable_reports_a_db_near_its_limit(
    store: SqliteLaneStore, db: sqlite_utils.Database
) -> None:
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + 2}")
    tight = SqliteLaneStore(db, KIOSK, min_free_disk_bytes=0, reserve_bytes=64 * 1024)
    with pytest.raises(StorageFull):
        tight.check_writable()


def test_check_writable_reports_too_little_free_disk(db: sqlite_utils.Database) -> None:
    greedy = SqliteLaneStore(db, KIOSK, min_free_disk_bytes=2**62)
    with pytest.raises(StorageFull, match="bytes free on the disk"):
        greedy.check_writable()


@pytest.fixture(params=["uri_mode_ro", "query_only"])
def read_only_store(
    request: pytest.FixtureRequest, db_path: Path, db: sqlite_utils.Database, sales: SaleFactory
) -> Iterator[tuple[SqliteLaneStore, SaleFactory]]:
    SqliteLaneStore(db, KIOSK).complete_sale(sales.make(), {"state": "idle"})
    if request.param == "uri_mode_ro":
        ro = open_db(db_path, read_only=True)
    else:
        ro = open_db(db_path)
        ro.execute("PRAGMA query_only = ON")
    yield SqliteLaneStore(ro, KIOSK, min_free_disk_bytes=0), sales
    ro.close()


def test_check_writable_reports_read_only_storage(
    read_only_store: tuple[SqliteLaneStore, SaleFactory],
) -> None:
    store, _ = read_only_store
    with pytest.raises(StorageReadOnly):
        store.check_writable()


def test_writes_on_read_only_storage_are_refused_and_reads_work(
    read_only_store: tuple[SqliteLaneStore, SaleFactory], db: sqlite_utils.Database
) -> None:
    store, sales = read_only_store
    with pytest.raises(StorageReadOnly, match="read-only"):
        store.save_lane({"state": "scanning"})
    with pytest.raises(StorageReadOnly):
        store.complete_sale(sales.make(), {})
    with pytest.raises(StorageReadOnly):
        store.boot()
    assert store.load_lane() == {"state": "idle"}
    assert store.last_seq() == 1
    assert counts(db) == [1, 2, 1, 1]
