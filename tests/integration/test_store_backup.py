"""kiosk.store.backup: online backups while selling, verified restores."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlite_utils

from kiosk.errors import IntegrityError, SchemaTooNew, StoreError
from kiosk.store.backup import backup, restore, verify_backup
from kiosk.store.check import check_db
from kiosk.store.db import open_db
from kiosk.store.lane_store import SqliteLaneStore
from kiosk.store.migrations import SCHEMA_VERSION
from tests.integration.conftest import KIOSK, SaleFactory


def sell(store: SqliteLaneStore, sales: SaleFactory, n: int) -> None:
    for _ in range(n):
        store.complete_sale(sales.make(), {"state": "idle"})


def check_file(path: Path) -> tuple[bool, int]:
    copy = open_db(path)
    try:
        report = check_db(copy)
        return report.ok, report.last_seq
    finally:
        copy.close()


def test_backup_while_another_thread_sells_is_consistent(
    db_path: Path, store: SqliteLaneStore, sales: SaleFactory, tmp_path: Path
) -> None:
    sell(store, sales, 3)
    stop = threading.Event()
    selling = threading.Event()
    errors: list[BaseException] = []

    def keep_selling() -> None:
        own = open_db(db_path)
        try:
            writer = SqliteLaneStore(own, KIOSK, min_free_disk_bytes=0)
            factory = SaleFactory(counter=iter(range(10_000, 100_000)))
            while not stop.is_set():
                writer.complete_sale(factory.make(lines=3), {})
                selling.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            selling.set()
            own.close()

    thread = threading.Thread(target=keep_selling)
    thread.start()
    seen: set[int] = set()
    try:
        assert selling.wait(timeout=30)
        # Back up until three different states were caught mid-selling (bounded).
        for n in range(300):
            report = backup(db_path, tmp_path / f"b{n % 3}.db")
            ok, last_seq = check_file(report.path)
            assert ok, f"backup {n} at seq {report.last_seq} does not check ok"
            assert last_seq == report.last_seq >= 3
            assert report.schema_version == SCHEMA_VERSION
            seen.add(report.last_seq)
            if len(seen) >= 3:
                break
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert len(seen) >= 3
    assert not list(tmp_path.glob("*.partial"))


def test_backup_into_a_folder_names_the_file(
    db_path: Path, store: SqliteLaneStore, sales: SaleFactory, tmp_path: Path
) -> None:
    sell(store, sales, 1)
    folder = tmp_path / "backups"
    folder.mkdir()
    report = backup(db_path, folder)
    assert report.path.parent == folder and report.path.name.startswith("kiosk-")
    assert not Path(str(report.path) + "-wal").exists()  # self-contained file


def test_backup_of_a_db_nobody_has_open(
    db_path: Path,
    store: SqliteLaneStore,
    db: sqlite_utils.Database,
    sales: SaleFactory,
    tmp_path: Path,
) -> None:
    sell(store, sales, 2)
    db.close()
    report = backup(db_path, tmp_path / "b.db")
    assert report.last_seq == 2
    assert check_file(report.path) == (True, 2)


def test_backup_of_a_missing_db_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database"):
        backup(tmp_path / "nope.db", tmp_path / "b.db")


def test_restore_brings_back_the_backup_and_keeps_the_old_db(
    db_path: Path,
    store: SqliteLaneStore,
    db: sqlite_utils.Database,
    sales: SaleFactory,
    tmp_path: Path,
) -> None:
    sell(store, sales, 2)
    saved = backup(db_path, tmp_path / "b.db")
    sell(store, sales, 3)
    db.close()
    report = restore(saved.path, db_path)
    assert report.last_seq == 2 and report.previous_saved_as is not None
    assert (
        not Path(str(db_path) + "-wal").exists() or Path(str(db_path) + "-wal").stat().st_size == 0
    )
    assert check_file(db_path) == (True, 2)
    assert check_file(report.previous_saved_as) == (True, 5)
    reopened = open_db(db_path)
    assert SqliteLaneStore(reopened, KIOSK).complete_sale(sales.make(), {}).seq == 3
    reopened.close()


def test_restore_refuses_a_file_that_is_not_a_database(
    db_path: Path, db: sqlite_utils.Database, tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00not sqlite\x00" * 1000)
    with pytest.raises(IntegrityError, match=r"not a kiosk\.db backup"):
        restore(garbage, db_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_restore_refuses_a_truncated_backup(
    db_path: Path, store: SqliteLaneStore, sales: SaleFactory, tmp_path: Path
) -> None:
    sell(store, sales, 20)
    saved = backup(db_path, tmp_path / "b.db")
    data = saved.path.read_bytes()
    cut = tmp_path / "cut.db"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(IntegrityError):
        restore(cut, db_path)


def test_restore_refuses_a_tampered_backup(
    db_path: Path, store: SqliteLaneStore, sales: SaleFactory, tmp_path: Path
) -> None:
    sell(store, sales, 3)
    saved = backup(db_path, tmp_path / "b.db")
    conn = sqlite3.connect(saved.path)
    conn.execute(
        "UPDATE journal SET body = replace(body, '\"boot\":1', '\"boot\":2') WHERE seq = 2"
    )
    conn.commit()
    conn.close()
    with pytest.raises(IntegrityError, match="seq 2: journal body does not match its hash"):
        restore(saved.path, db_path)
    assert check_file(db_path) == (True, 3)


def test_restore_refuses_a_backup_from_newer_software(
    db_path: Path, store: SqliteLaneStore, sales: SaleFactory, tmp_path: Path
) -> None:
    sell(store, sales, 1)
    saved = backup(db_path, tmp_path / "b.db")
    conn = sqlite3.connect(saved.path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNew, match="upgrade the kiosk software"):
        verify_backup(saved.path)


def test_restore_refuses_a_missing_backup(db_path: Path, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no backup file"):
        restore(tmp_path / "nope.db", db_path)
