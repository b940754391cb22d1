"""``kiosk members credit``: a top-up of a member's stored value (or points) at the kiosk, by an
attendant or the back office. Adapter; called by ``kiosk.cli`` on the main thread, on its own
connection (the lane may be running: the write waits for the lane's transaction, never splits
one).

The amount is given as the attendant reads it: stored value in major units of the store's
currency (``50``, ``50.00``, never more decimals than the currency has), points as a whole
number. It is checked (positive, at most ``MAX_TOP_UP`` minor units or points), the member and
the staff member must exist, and ONE transaction writes the ledger row (kind ``credit``, with
the reason) and an audit row ``member_credit`` naming who did it and the balance after. Every
refusal is a ``TopUpError`` whose message names what was wrong.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

import sqlite_utils

from kiosk.loyalty import ACCOUNTS, Account
from kiosk.money import exponent
from kiosk.store.db import write_transaction

logger = logging.getLogger(__name__)

# The most one top-up may put on an account: minor units of stored value, or points.
MAX_TOP_UP: Final[int] = 10_000_000
_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AMOUNT: Final = re.compile(r"[0-9]+(\.[0-9]+)?")


class TopUpError(ValueError):
    """A top-up that was refused; nothing was written."""


@dataclass(frozen=True, slots=True)
class TopUp:
    """What ``top_up`` recorded: the ledger row's id and the account's balance after it."""

    entry_id: int
    member_id: str
    account: Account
    amount: int  # minor units, or points
    balance: int


def parse_amount(text: str, account: str, currency: str) -> int:
    """``text`` as minor units (stored value, in major units of ``currency``) or points."""
    text = text.strip()
    if not _AMOUNT.fullmatch(text):
        raise TopUpError(f"amount {text!r} must be a positive number like 50 or 50.00")
    if account == "points":
        if "." in text:
            raise TopUpError(f"points are whole numbers, not {text}")
        value = int(text)
    else:
        places = exponent(currency)
        try:
            scaled = Decimal(text).scaleb(places)
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only digits
            raise TopUpError(f"amount {text!r} is not a number") from exc
        if scaled != scaled.to_integral_value():
            raise TopUpError(f"{currency} amounts have at most {places} decimals, got {text}")
        value = int(scaled)
    if value <= 0:
        raise TopUpError(f"a top-up must be more than 0, got {text}")
    if value > MAX_TOP_UP:
        raise TopUpError(f"a top-up is at most {MAX_TOP_UP} minor units or points, got {value}")
    return value


def top_up(
    db: sqlite_utils.Database,
    member_id: str,
    account: str,
    amount: int,
    staff_id: str,
    reason: str,
    business_day: str,
) -> TopUp:
    """Put ``amount`` (minor units, or points) on ``member_id``'s ``account`` as one audited
    ledger row; ``staff_id`` is who took the money. Raises ``TopUpError``."""
    if account not in ACCOUNTS:
        raise TopUpError(f"account {account!r} must be points or stored_value")
    checked: Account = "points" if account == "points" else "stored_value"
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_TOP_UP:
        raise TopUpError(f"amount must be 1 to {MAX_TOP_UP}, got {amount!r}")
    if not reason.strip():
        raise TopUpError("a top-up needs a reason: the receipt or voucher number, ...")
    if len(reason) > 200:
        raise TopUpError("the reason is longer than 200 characters")
    if not _DAY.fullmatch(business_day):
        raise TopUpError(f"the business day must be YYYY-MM-DD, got {business_day!r}")
    with write_transaction(db.conn) as conn:
        if (
            conn.execute("SELECT 1 FROM members WHERE member_id = ?", (member_id,)).fetchone()
            is None
        ):
            raise TopUpError(f"no member {member_id!r} on this kiosk (kiosk members import)")
        if conn.execute("SELECT 1 FROM staff WHERE staff_id = ?", (staff_id,)).fetchone() is None:
            raise TopUpError(f"no staff member {staff_id!r} on this kiosk")
        cursor = conn.execute(
            "INSERT INTO member_ledger (member_id, account, kind, amount, business_day, reason) "
            "VALUES (?, ?, 'credit', ?, ?, ?)",
            (member_id, checked, amount, business_day, reason.strip()),
        )
        entry_id = int(cursor.lastrowid or 0)
        balance = int(
            conn.execute(
                "SELECT sum(amount) FROM member_ledger WHERE member_id = ? AND account = ?",
                (member_id, checked),
            ).fetchone()[0]
        )
        detail = {
            "member_id": member_id,
            "account": checked,
            "amount": amount,
            "balance": balance,
            "entry": entry_id,
            "staff": staff_id,
            "reason": reason.strip(),
            "business_day": business_day,
        }
        conn.execute(
            "INSERT INTO audit (kind, detail) VALUES ('member_credit', ?)",
            (json.dumps(detail, ensure_ascii=False, separators=(",", ":")),),
        )
    logger.info(
        "member credited",
        extra={"member": member_id, "account": checked, "amount": amount, "staff": staff_id},
    )
    return TopUp(entry_id, member_id, checked, amount, balance)
