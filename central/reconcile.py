"""Reconciliation of a kiosk's ``pos.shift.closed/1`` against the finance ledger.

Runs in the finance consumer thread, inside the batch transaction, once every event of the
shift's range (``first_seq..last_seq``) is applied (the kiosk's contiguous seq reached
``last_seq``): before that, missing sales would show as false discrepancies. It compares the
kiosk's declared figures with what the ledger holds for that range: sales count and totals,
per tender type count, amount and change, the currency, and ``last_hash`` against the hash of
the event at ``last_seq``. Each difference is a ``shift`` discrepancy; the shift row becomes
``reconciled`` or ``discrepancy``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select, update

from central.events import Envelope, ShiftClosed
from central.storage.schema import discrepancies, ledger_lines, processed_events, sales, shifts
from kiosk.protocol.canonical import GENESIS_HASH

SALES_FIELDS = ("count", "gross", "discount", "tax", "rounding", "due")


def declared_figures(shift: ShiftClosed) -> dict[str, Any]:
    """The shift's figures as stored in ``shifts.declared`` (and compared by ``compare``)."""
    return {
        "shift_id": shift.shift_id,
        "currency": shift.currency,
        "first_seq": shift.first_seq,
        "last_seq": shift.last_seq,
        "last_hash": shift.last_hash,
        "sales": {f: getattr(shift.sales, f) for f in SALES_FIELDS},
        "tenders": {
            t.type: {"count": t.count, "amount": t.amount, "change": t.change}
            for t in shift.tenders
        },
    }


def ledger_figures(
    conn: Connection, group: str, kiosk_id: str, first_seq: int, last_seq: int
) -> dict[str, Any]:
    """What the ledger holds for ``kiosk_id``'s events ``first_seq..last_seq``, shaped like
    ``declared_figures``."""
    in_range = sales.c.kiosk_id == kiosk_id, sales.c.seq.between(first_seq, last_seq)
    row = conn.execute(
        select(
            func.count(),
            *(func.coalesce(func.sum(sales.c[f]), 0) for f in SALES_FIELDS[1:]),
        ).where(*in_range)
    ).one()
    currencies = sorted(
        conn.execute(select(sales.c.currency).where(*in_range).distinct()).scalars()
    )
    tenders: dict[str, dict[str, int]] = {}
    lc = ledger_lines.c
    for account, code, count, amount in conn.execute(
        select(lc.account, lc.code, func.sum(lc.count), func.sum(lc.amount))
        .where(
            lc.kiosk_id == kiosk_id,
            lc.seq.between(first_seq, last_seq),
            lc.account.in_(("tender", "change")),
        )
        .group_by(lc.account, lc.code)
    ):
        entry = tenders.setdefault(code, {"count": 0, "amount": 0, "change": 0})
        if account == "tender":
            entry["count"], entry["amount"] = int(count), int(amount)
        else:
            entry["change"] = int(amount)
    last_hash = GENESIS_HASH
    if last_seq > 0:
        last_hash = (
            conn.execute(
                select(processed_events.c.hash).where(
                    processed_events.c.consumer_group == group,
                    processed_events.c.kiosk_id == kiosk_id,
                    processed_events.c.seq == last_seq,
                )
            ).scalar()
            or "(no event applied at last_seq)"
        )
    return {
        "currencies": currencies,
        "last_hash": last_hash,
        "sales": dict(zip(SALES_FIELDS, (int(v) for v in row), strict=True)),
        "tenders": tenders,
    }


def compare(declared: Mapping[str, Any], ledger: Mapping[str, Any]) -> list[str]:
    """Every difference between the kiosk's figures and the ledger's, as readable lines."""
    problems = []
    other = [c for c in ledger["currencies"] if c != declared["currency"]]
    if other:
        problems.append(f"currency: shift in {declared['currency']}, ledger has sales in {other}")
    for name in SALES_FIELDS:
        said, has = declared["sales"][name], ledger["sales"][name]
        if said != has:
            problems.append(f"sales.{name}: kiosk declared {said}, ledger has {has}")
    zero = {"count": 0, "amount": 0, "change": 0}
    for kind in sorted(set(declared["tenders"]) | set(ledger["tenders"])):
        said = declared["tenders"].get(kind, zero)
        has = ledger["tenders"].get(kind, zero)
        for name in ("count", "amount", "change"):
            if said[name] != has[name]:
                problems.append(
                    f"tenders.{kind}.{name}: kiosk declared {said[name]}, ledger has {has[name]}"
                )
    if declared["last_hash"] != ledger["last_hash"]:
        problems.append(
            f"last_hash: kiosk declared {declared['last_hash'][:16]}..., the event at seq "
            f"{declared['last_seq']} has {ledger['last_hash'][:16]}..."
        )
    return problems


def insert_pending(conn: Connection, env: Envelope, shift: ShiftClosed) -> None:
    conn.execute(
        shifts.insert(),
        {
            "event_id": env.event_id,
            "shift_id": shift.shift_id,
            "kiosk_id": env.kiosk_id,
            "store_id": env.store_id,
            "seq": env.seq,
            "business_day": env.business_day,
            "first_seq": shift.first_seq,
            "last_seq": shift.last_seq,
            "declared": json.dumps(declared_figures(shift), sort_keys=True),
            "status": "pending",
            "detail": "",
        },
    )


def reconcile_ready(
    conn: Connection, group: str, kiosk_id: str, contiguous_seq: int, now: str
) -> int:
    """Reconcile every pending shift of ``kiosk_id`` whose range is complete; how many."""
    ready = conn.execute(
        select(shifts)
        .where(
            shifts.c.kiosk_id == kiosk_id,
            shifts.c.status == "pending",
            shifts.c.last_seq <= contiguous_seq,
        )
        .order_by(shifts.c.seq)
    ).all()
    for shift in ready:
        declared = json.loads(shift.declared)
        ledger = ledger_figures(conn, group, kiosk_id, shift.first_seq, shift.last_seq)
        problems = compare(declared, ledger)
        if problems:
            conn.execute(
                discrepancies.insert(),
                [
                    {
                        "consumer_group": group,
                        "kind": "shift",
                        "kiosk_id": kiosk_id,
                        "store_id": shift.store_id,
                        "seq": shift.seq,
                        "event_id": shift.event_id,
                        "business_day": shift.business_day,
                        "detail": f"shift {shift.shift_id}: {problem}",
                        "detected_at": now,
                    }
                    for problem in problems
                ],
            )
        conn.execute(
            update(shifts)
            .where(shifts.c.event_id == shift.event_id)
            .values(
                status="discrepancy" if problems else "reconciled",
                reconciled_at=now,
                detail="; ".join(problems),
            )
        )
    return len(ready)
