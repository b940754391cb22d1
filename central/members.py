"""Members' points and stored value as central follows them, across every kiosk.

Each kiosk is the authority for its own member ledger only, and caps what a member may spend
there per sale and per day while it cannot confirm a balance (docs/loyalty.md, "Offline
policy"). Central sees every kiosk's sales and refunds, so it keeps one movement row per member,
account and event (``member_movements``):

==========  =====  ====================================================================
kind        sign   from
==========  =====  ====================================================================
earn        +      a sale's ``member.points_earned``
redeem      -      a sale's ``member.points_redeemed`` and ``member.stored_value_used``
refund      +      a refund's ``member.points_refunded`` and ``stored_value_refunded``
unearn      -      a refund's ``member.points_reversed`` (all of it: the kiosk's
                   ``points_unrecovered`` is a shortfall of its own ledger only)
credit      +/-    ``kiosk-central members credit`` (a top-up or correction at central)
==========  =====  ====================================================================

``event_movements`` is called by the finance consumer (``central.finance``, consumer thread,
inside the batch transaction); ``credit_member`` by the CLI; ``member_problems`` by
``kiosk-central report members`` (CLI main thread, read-only): the member-days where the
redemptions of all kiosks together went over a daily cap, or where the balance central knows
(credits + movements) went below zero, which is the double spend of several kiosks.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, func, select

from central.events import Envelope, SaleCompleted, SaleRefunded
from central.storage import bulk_insert
from central.storage.schema import member_movements

logger = logging.getLogger(__name__)

ACCOUNTS: Final = ("points", "stored_value")
_MAX_AMOUNT: Final = 10**12


def event_movements(env: Envelope, body: SaleCompleted | SaleRefunded) -> list[dict[str, Any]]:
    """The ``member_movements`` rows of one sale or refund event (none without a member)."""
    entries: list[tuple[str, str, int]]
    if isinstance(body, SaleCompleted):
        if body.member is None:
            return []
        m = body.member
        member_id = m.member_id
        entries = [
            ("points", "redeem", -m.points_redeemed),
            ("stored_value", "redeem", -m.stored_value_used),
            ("points", "earn", m.points_earned),
        ]
        reason = f"sale {body.receipt_no}"
    else:
        if body.member is None:
            return []
        r = body.member
        member_id = r.member_id
        entries = [
            ("points", "refund", r.points_refunded),
            ("stored_value", "refund", r.stored_value_refunded),
            ("points", "unearn", -r.points_reversed),
        ]
        reason = f"refund {body.refund_no} of {body.original_receipt_no}"
    return [
        {
            "event_id": env.event_id,
            "member_id": member_id,
            "account": account,
            "kind": kind,
            "amount": amount,
            "kiosk_id": env.kiosk_id,
            "store_id": env.store_id,
            "seq": env.seq,
            "business_day": env.business_day,
            "reason": reason,
        }
        for account, kind, amount in entries
        if amount
    ]


def insert_movements(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    bulk_insert(conn, member_movements, list(rows))


def balance(conn: Connection, member_id: str, account: str) -> int:
    mm = member_movements.c
    found = conn.execute(
        select(func.coalesce(func.sum(mm.amount), 0)).where(
            mm.member_id == member_id, mm.account == account
        )
    ).scalar()
    return int(found or 0)


def credit_member(
    conn: Connection,
    member_id: str,
    account: str,
    amount: int,
    store_id: str,
    business_day: str,
    reason: str,
) -> int:
    """Record a top-up (or, negative, a correction) of a member's account at central; returns
    the balance central knows after it. ValueError names what was wrong."""
    if not member_id.strip() or len(member_id) > 64:
        raise ValueError("the member id must be 1 to 64 characters")
    if account not in ACCOUNTS:
        raise ValueError(f"account {account!r} must be points or stored_value")
    if amount == 0 or abs(amount) > _MAX_AMOUNT:
        raise ValueError(f"amount must be a non-zero whole number up to {_MAX_AMOUNT}")
    if not reason.strip():
        raise ValueError("a credit needs a reason (the top-up receipt, 'opening balance'...)")
    insert_movements(
        conn,
        [
            {
                "event_id": f"credit:{uuid.uuid4()}",
                "member_id": member_id,
                "account": account,
                "kind": "credit" if amount > 0 else "debit",
                "amount": amount,
                "kiosk_id": "",
                "store_id": store_id,
                "seq": None,
                "business_day": business_day,
                "reason": reason.strip(),
            }
        ],
    )
    after = balance(conn, member_id, account)
    logger.info("member %s %s credited %d, balance %d", member_id, account, amount, after)
    return after


@dataclass(frozen=True, slots=True)
class MemberDay:
    """One member's day as central sees it, across kiosks."""

    business_day: str
    member_id: str
    kiosks: tuple[str, ...]  # the kiosks where the member spent that day
    points_spent: int
    stored_value_spent: int
    points_balance: int  # at the end of the day (every earlier movement and credit)
    stored_value_balance: int
    problems: tuple[str, ...]


def member_problems(
    conn: Connection,
    store_id: str,
    first_day: str,
    last_day: str,
    points_cap: int = 0,
    stored_value_cap: int = 0,
) -> list[MemberDay]:
    """The member-days of ``store_id`` in ``first_day..last_day`` whose redemptions over all
    kiosks exceeded a daily cap (0: not checked) or whose balance ended below zero."""
    mm = member_movements.c
    members = sorted(
        conn.execute(
            select(mm.member_id)
            .where(mm.store_id == store_id, mm.business_day.between(first_day, last_day))
            .distinct()
        ).scalars()
    )
    out: list[MemberDay] = []
    caps = {"points": points_cap, "stored_value": stored_value_cap}
    for member_id in members:
        rows = conn.execute(
            select(mm.business_day, mm.account, mm.kind, mm.amount, mm.kiosk_id)
            .where(mm.member_id == member_id, mm.business_day <= last_day)
            .order_by(mm.business_day, mm.id)
        ).all()
        per_day: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            per_day[row.business_day].append(row)
        running = {"points": 0, "stored_value": 0}
        for day in sorted(per_day):
            spent = {"points": 0, "stored_value": 0}
            kiosks: set[str] = set()
            for row in per_day[day]:
                running[row.account] += int(row.amount)
                if row.kind == "redeem":
                    spent[row.account] -= int(row.amount)
                    kiosks.add(row.kiosk_id)
            if day < first_day:
                continue
            problems = []
            for account in ACCOUNTS:
                name = account.replace("_", " ")
                if caps[account] and spent[account] > caps[account]:
                    problems.append(
                        f"{name} spent {spent[account]} over the daily cap {caps[account]} "
                        f"on {len(kiosks)} kiosk(s)"
                    )
                if running[account] < 0:
                    problems.append(f"{name} balance {running[account]} below zero")
            if problems:
                out.append(
                    MemberDay(
                        day,
                        member_id,
                        tuple(sorted(kiosks)),
                        spent["points"],
                        spent["stored_value"],
                        running["points"],
                        running["stored_value"],
                        tuple(problems),
                    )
                )
    out.sort(key=lambda m: (m.business_day, m.member_id))
    return out
