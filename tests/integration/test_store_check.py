"""kiosk.store.check: a clean kiosk.db checks ok; tampering and deletions are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils

from kiosk.store.check import check_db
from kiosk.store.db import connect
from kiosk.store.lane_store import SqliteLaneStore
from tests.integration.conftest import SaleFactory


@pytest.fixture
def sold(
    store: SqliteLaneStore, sales: SaleFactory, db: sqlite_utils.Database
) -> sqlite_utils.Database:
    for n in range(5):
        store.complete_sale(sales.make(lines=2, cash=n % 2 == 0), {"state": "idle"})
    return db


def tamper(db_path: Path, *statements: str) -> None:
    """Change kiosk.db behind the store's back, foreign keys off, like an attacker would."""
    conn = connect(db_path)
    conn.execute("PRAGMA foreign_keys = OFF")
    for statement in statements:
        conn.execute(statement)
    conn.close()


def test_check_db_is_ok_on_a_new_and_on_a_used_db(
    db: sqlite_utils.Database, store: SqliteLaneStore, sales: SaleFactory
) -> None:
    empty = check_db(db)
    assert empty.ok and empty.journal_rows == 0
    store.complete_sale(sales.make(), {})
    report = check_db(db)
    assert report.ok, report.summary()
    assert (report.journal_rows, report.last_seq, report.sales) == (1, 1, 1)
    assert report.summary().endswith(": ok")


def test_check_db_detects_a_tampered_sale_body(sold: sqlite_utils.Database, db_path: Path) -> None:
    tamper(
        db_path,
        "UPDATE sales SET body = replace(body, '\"amount\":2580', '\"amount\":258') WHERE seq = 3",
    )
    report = check_db(sold)
    assert report.problems == [
        "seq 3: sales body differs from the journal entry (changed after commit?)"
    ]


def test_check_db_detects_a_tampered_sales_total(
    sold: sqlite_utils.Database, db_path: Path
) -> None:
    tamper(db_path, "UPDATE sales SET due = due - 100 WHERE seq = 2")
    assert check_db(sold).problems == [
        "seq 2: sales columns (receipt or totals) differ from the sale event"
    ]


def test_check_db_detects_a_tampered_sale_line(sold: sqlite_utils.Database, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM sale_lines WHERE seq = 4 AND line_no = 2")
    assert check_db(sold).problems == ["seq 4: sale_lines differ from the sale event's lines"]


def test_check_db_detects_a_tampered_journal_body(
    sold: sqlite_utils.Database, db_path: Path
) -> None:
    tamper(
        db_path, "UPDATE journal SET body = replace(body, '\"boot\":1', '\"boot\":7') WHERE seq = 2"
    )
    problems = check_db(sold).problems
    assert "seq 2: journal body does not match its hash (changed after commit?)" in problems
    assert (
        "seq 2: outbox payload differs from the journal entry (changed after commit?)" in problems
    )


def test_check_db_detects_a_deleted_journal_row(sold: sqlite_utils.Database, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM journal WHERE seq = 3")
    problems = check_db(sold).problems
    assert "journal seq 3 missing (gap before seq 4)" in problems
    assert "seq 4: prev_hash does not match the hash of the entry before it" in problems
    assert "seq 3: outbox row has no journal entry (journal row deleted?)" in problems
    assert "seq 3: sales row has no journal entry (journal row deleted?)" in problems


def test_check_db_detects_a_deleted_last_sale_everywhere_but_the_outbox(
    sold: sqlite_utils.Database, db_path: Path
) -> None:
    tamper(db_path, "DELETE FROM sales WHERE seq = 5", "DELETE FROM sale_lines WHERE seq = 5")
    assert check_db(sold).problems == [
        "seq 5: sale.completed entry has no sales row",
        "a row of sale_tenders refers to a missing row of sales",
    ]
    tamper(db_path, "DELETE FROM sale_tenders WHERE seq = 5")
    assert check_db(sold).problems == ["seq 5: sale.completed entry has no sales row"]


def test_check_db_detects_a_missing_outbox_row(sold: sqlite_utils.Database, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM outbox WHERE seq = 1")
    assert check_db(sold).problems == ["seq 1: no outbox row (the event would never be published)"]


def test_check_db_detects_a_rewritten_chain_start(
    sold: sqlite_utils.Database, db_path: Path
) -> None:
    tamper(db_path, "UPDATE journal SET prev_hash = hash WHERE seq = 1")
    problems = check_db(sold).problems
    assert "seq 1: prev_hash does not match the hash of the entry before it" in problems


def test_check_db_reports_an_old_schema(db: sqlite_utils.Database) -> None:
    db.execute("PRAGMA user_version = 0")
    report = check_db(db)
    assert not report.ok
    assert "older than" in report.problems[0]
