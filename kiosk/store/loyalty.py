"""Members' points and stored value in kiosk.db: an append-only ledger (``member_ledger``).

``SqliteMemberLedger`` (``kiosk.ports.MemberLedger``) reads balances on the lane thread's
connection. ``write_sale_entries`` is called by ``SqliteLaneStore.complete_sale`` inside the
sale's own transaction, so a recorded sale always has its ledger rows and a sale recorded twice
never writes them twice. ``refund_activity`` and ``write_refund_entries`` do the same for a
refund inside ``SqliteRefunds.record_refund``'s transaction: the points and stored value it
gives back (``refund``) and the earned points it takes back (``unearn``, capped at the points
balance so it never goes below zero; the rest is published as ``points_unrecovered``).
``credit`` (a top-up, an opening balance, a correction) is for the CLI
(``kiosk.store.loyalty_admin``) and the tests: one row, its own transaction.

A balance is the sum of a member's rows of one account. The schema (migration 3) refuses an
UPDATE or a DELETE of a row and any row that would take a balance below zero, so the ledger can
only grow and a balance can never be negative whatever writes it. Amounts are points, or minor
units of stored value; redemptions are negative, earning and credits positive.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from typing import Any, Final

import sqlite_utils

from kiosk.loyalty import (
    ACCOUNTS,
    Account,
    Balances,
    RefundActivity,
    ledger_entries,
    refund_ledger_entries,
)
from kiosk.refunds import CompletedRefund
from kiosk.sale import CompletedSale
from kiosk.store.db import translate_errors, write_transaction

_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COLUMNS: Final[str] = "id, member_id, account, kind, amount, business_day, seq, sale_id, reason"


def _balances(rows: list[tuple[Any, ...]]) -> Balances:
    found = {str(account): int(total) for account, total in rows}
    return Balances(points=found.get("points", 0), stored_value=found.get("stored_value", 0))


class SqliteMemberLedger:
    """``kiosk.ports.MemberLedger`` over ``member_ledger``."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._conn: sqlite3.Connection = db.conn

    def balances(self, member_id: str) -> Balances:
        with translate_errors():
            rows = self._conn.execute(
                "SELECT account, sum(amount) FROM member_ledger WHERE member_id = ? "
                "GROUP BY account",
                (member_id,),
            ).fetchall()
        return _balances(rows)

    def spent_on(self, member_id: str, business_day: str) -> Balances:
        with translate_errors():
            rows = self._conn.execute(
                "SELECT account, -sum(amount) FROM member_ledger "
                "WHERE member_id = ? AND business_day = ? AND kind = 'redeem' GROUP BY account",
                (member_id, business_day),
            ).fetchall()
        return _balances(rows)

    def entries(self, member_id: str) -> list[Mapping[str, Any]]:
        """The member's rows, oldest first (for ``kiosk db check``, support and the tests)."""
        with translate_errors():
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM member_ledger WHERE member_id = ? ORDER BY id",
                (member_id,),
            ).fetchall()
        keys = [key.strip() for key in _COLUMNS.split(",")]
        return [dict(zip(keys, row, strict=True)) for row in rows]


def write_sale_entries(conn: sqlite3.Connection, sale: CompletedSale, seq: int) -> None:
    """Append the ledger rows of ``sale`` (recorded as ``seq``): its redemptions, then its
    earning. Call inside the sale's transaction; a balance that would go below zero raises
    ``StoreError`` and the whole sale rolls back."""
    activity = sale.loyalty
    if activity is None:
        return
    conn.executemany(
        "INSERT INTO member_ledger (member_id, account, kind, amount, business_day, seq, "
        "sale_id, reason) VALUES (?,?,?,?,?,?,?,?)",
        [
            (
                activity.member_id,
                account,
                kind,
                amount,
                sale.business_day,
                seq,
                sale.sale_id,
                f"sale {sale.kiosk_id}-{seq}",
            )
            for account, kind, amount in ledger_entries(activity)
        ],
    )


def _points_balance(conn: sqlite3.Connection, member_id: str) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(amount), 0) FROM member_ledger "
        "WHERE member_id = ? AND account = 'points'",
        (member_id,),
    ).fetchone()
    return int(row[0])


def refund_activity(conn: sqlite3.Connection, refund: CompletedRefund) -> RefundActivity | None:
    """The member activity ``refund`` records, read inside its transaction: the earned points
    taken back are capped at what the points balance can give (None without a member)."""
    planned = refund.loyalty()
    if planned is None:
        return None
    return planned.capped(_points_balance(conn, planned.member_id))


def write_refund_entries(
    conn: sqlite3.Connection,
    refund: CompletedRefund,
    activity: RefundActivity,
    seq: int,
    refund_no: str,
) -> None:
    """Append the ledger rows of ``refund`` (recorded as ``seq``): what goes back, then the
    earned points taken back. Call inside the refund's transaction (after its journal row)."""
    conn.executemany(
        "INSERT INTO member_ledger (member_id, account, kind, amount, business_day, seq, "
        "sale_id, reason) VALUES (?,?,?,?,?,?,?,?)",
        [
            (
                activity.member_id,
                account,
                kind,
                amount,
                refund.business_day,
                seq,
                refund.refund_id,
                f"refund {refund_no} of {refund.original.receipt_no}",
            )
            for account, kind, amount in refund_ledger_entries(activity)
        ],
    )


def credit(
    db: sqlite_utils.Database,
    member_id: str,
    account: Account,
    amount: int,
    business_day: str,
    reason: str,
) -> Balances:
    """Put ``amount`` (points, or minor units of stored value) on a member's account, or take
    it off when negative (a correction), as one ledger row; returns the new balances.

    ``reason`` must say why (a top-up receipt, "opening balance"...). Raises ``ValueError`` for
    a zero amount, an unknown account, a bad day or an empty reason, and ``StoreError`` when a
    negative amount would take the balance below zero (nothing is written then).
    """
    if account not in ACCOUNTS:
        raise ValueError(f"account {account!r} must be points or stored_value")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise ValueError(f"amount must be a non-zero whole number, got {amount!r}")
    if not _DAY.fullmatch(business_day):
        raise ValueError(f"business_day must be YYYY-MM-DD, got {business_day!r}")
    if not reason.strip():
        raise ValueError("a credit or debit needs a reason")
    if not member_id:
        raise ValueError("member_id is empty")
    with write_transaction(db.conn) as conn:
        if (
            conn.execute("SELECT 1 FROM members WHERE member_id = ?", (member_id,)).fetchone()
            is None
        ):
            raise ValueError(f"no member {member_id}")
        conn.execute(
            "INSERT INTO member_ledger (member_id, account, kind, amount, business_day, reason) "
            "VALUES (?,?,?,?,?,?)",
            (member_id, account, "credit" if amount > 0 else "debit", amount, business_day, reason),
        )
    return SqliteMemberLedger(db).balances(member_id)
