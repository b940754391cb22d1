"""What kiosk.db holds after a kill: ``read_store`` reads the sales, tenders, payment intents,
journal, outbox and lane snapshot on a read-only connection into ``StoreFacts`` (with ``full``
also ``check_db`` and ``verify_chain``); a file that cannot be read is a ``Violation``.

Called from whichever harness thread just killed or restarted a lane.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from kiosk.errors import StoreError
from kiosk.protocol import verify_chain
from kiosk.store import check_db, open_db
from tests.crash.faults import Violation


@dataclass(frozen=True)
class Intent:
    sale_id: str
    method: str
    amount: int
    status: str


@dataclass
class StoreFacts:
    """What kiosk.db holds, read on a read-only connection."""

    problems: list[str]
    sales: dict[str, tuple[int, str, int, int]]  # sale_id -> (seq, receipt_no, due, paid)
    sales_per_id: Counter[str]
    lines: dict[int, list[tuple[int, str, Decimal, int]]]  # seq -> (line, sku, qty, amount)
    tenders: list[tuple[int, str, str, int]]  # (seq, type, intent_id, amount)
    intents: dict[str, Intent]
    journal: dict[int, str]  # seq -> hash
    outbox: set[int]
    snapshot: Mapping[str, Any]


def read_store(path: Path, *, full: bool) -> StoreFacts:
    """Read kiosk.db; with ``full`` also run check_db and verify_chain over the outbox. A file
    that cannot be read is a Violation."""
    try:
        return _read_store(path, full)
    except (StoreError, sqlite3.Error, ValueError) as exc:
        raise Violation([f"{path} cannot be read: {exc}"]) from exc


def _read_store(path: Path, full: bool) -> StoreFacts:
    db = open_db(path, read_only=True)
    conn = db.conn
    try:
        problems: list[str] = []
        if full:
            report = check_db(db)
            problems += [f"kiosk db check: {p}" for p in report.problems]
            payloads = [
                json.loads(p) for (p,) in conn.execute("SELECT payload FROM outbox ORDER BY seq")
            ]
            problems += [f"verify_chain: {p}" for p in verify_chain(payloads)]
        rows = conn.execute("SELECT sale_id, seq, receipt_no, due, paid FROM sales").fetchall()
        lines: dict[int, list[tuple[int, str, Decimal, int]]] = defaultdict(list)
        for seq, line_no, sku, qty, amount in conn.execute(
            "SELECT seq, line_no, sku, qty, amount FROM sale_lines ORDER BY seq, line_no"
        ):
            lines[seq].append((line_no, sku, Decimal(qty), amount))
        (snapshot,) = conn.execute("SELECT snapshot FROM lane WHERE id = 1").fetchone()
        return StoreFacts(
            problems=problems,
            sales={r[0]: (r[1], r[2], r[3], r[4]) for r in rows},
            sales_per_id=Counter(r[0] for r in rows),
            lines=dict(lines),
            tenders=conn.execute(
                "SELECT seq, type, intent_id, amount FROM sale_tenders"
            ).fetchall(),
            intents={
                r[0]: Intent(*r[1:])
                for r in conn.execute(
                    "SELECT intent_id, sale_id, method, amount, status FROM payment_intents"
                )
            },
            journal=dict(conn.execute("SELECT seq, hash FROM journal").fetchall()),
            outbox={r[0] for r in conn.execute("SELECT seq FROM outbox")},
            snapshot=json.loads(snapshot) if snapshot else {},
        )
    finally:
        conn.close()
