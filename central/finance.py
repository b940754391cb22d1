"""The finance consumer: a ``sales`` row and ledger lines per sale, reversing ledger lines per
refund (``central.ledger.refund_ledger``; no ``sales`` row), the member's points and stored
value movements of both (``central.members``), closed shifts reconciled, hash-chain
continuity per kiosk (the applier records breaks because ``checks_chain`` is set).

``FinanceHandler.apply`` and ``after_advance`` run in the consumer thread inside the batch
transaction. ``daily_summaries`` is read by ``kiosk-central report`` (CLI main thread).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from central.chain import Progress
from central.config import FinanceConfig
from central.events import Event, SaleRefunded, ShiftClosed
from central.ledger import refund_ledger, sale_ledger
from central.members import event_movements, insert_movements
from central.reconcile import insert_pending, reconcile_ready
from central.storage import bulk_insert
from central.storage.schema import ledger_lines, sales


class FinanceHandler:
    checks_chain = True

    def __init__(self, config: FinanceConfig) -> None:
        self.config = config

    @property
    def group(self) -> str:
        return self.config.group

    def apply(self, conn: Connection, events: Sequence[Event], now: str) -> None:
        sale_rows = []
        ledger_rows: list[dict[str, object]] = []
        member_rows: list[dict[str, object]] = []
        for event in events:
            env, body = event.envelope, event.body
            if isinstance(body, ShiftClosed):
                insert_pending(conn, env, body)
                continue
            member_rows.extend(event_movements(env, body))
            if isinstance(body, SaleRefunded):
                ledger_rows.extend(
                    {
                        "event_id": env.event_id,
                        "kiosk_id": env.kiosk_id,
                        "store_id": env.store_id,
                        "seq": env.seq,
                        "business_day": env.business_day,
                        "currency": body.currency,
                        "account": x.account,
                        "code": x.code,
                        "side": x.side,
                        "amount": x.amount,
                        "count": x.count,
                    }
                    for x in refund_ledger(body)
                )
                continue
            t = body.totals
            sale_rows.append(
                {
                    "event_id": env.event_id,
                    "kiosk_id": env.kiosk_id,
                    "store_id": env.store_id,
                    "seq": env.seq,
                    "business_day": env.business_day,
                    "occurred_at": env.occurred_at,
                    "receipt_no": body.receipt_no,
                    "currency": body.currency,
                    "tax_mode": body.tax_mode,
                    "gross": t.gross,
                    "discount": t.discount,
                    "tax": t.tax,
                    "rounding": t.rounding,
                    "due": t.due,
                    "line_count": len(body.lines),
                }
            )
            common = {
                "event_id": env.event_id,
                "kiosk_id": env.kiosk_id,
                "store_id": env.store_id,
                "seq": env.seq,
                "business_day": env.business_day,
                "currency": body.currency,
            }
            ledger_rows.extend(
                {
                    **common,
                    "account": x.account,
                    "code": x.code,
                    "side": x.side,
                    "amount": x.amount,
                    "count": x.count,
                }
                for x in sale_ledger(body)
            )
        if sale_rows:
            bulk_insert(conn, sales, sale_rows)
        if ledger_rows:
            bulk_insert(conn, ledger_lines, ledger_rows)
        if member_rows:
            insert_movements(conn, member_rows)

    def after_advance(self, conn: Connection, progress: Progress, now: str) -> None:
        reconcile_ready(conn, self.group, progress.kiosk_id, progress.contiguous_seq, now)


@dataclass(frozen=True, slots=True)
class DailySummary:
    business_day: str
    store_id: str
    kiosk_id: str  # "" for the store's total
    currency: str
    sales: int
    gross: int
    discount: int
    tax: int
    rounding: int
    due: int


def daily_summaries(
    conn: Connection, store_id: str, first_day: str, last_day: str, per_kiosk: bool
) -> list[DailySummary]:
    """Sales per business day of ``store_id`` (per kiosk, or the store's total)."""
    s = sales.c
    keys = [s.business_day, s.currency] + ([s.kiosk_id] if per_kiosk else [])
    query = (
        select(
            *keys,
            func.count(),
            func.sum(s.gross),
            func.sum(s.discount),
            func.sum(s.tax),
            func.sum(s.rounding),
            func.sum(s.due),
        )
        .where(s.store_id == store_id, s.business_day.between(first_day, last_day))
        .group_by(*keys)
        .order_by(*keys)
    )
    out = []
    for row in conn.execute(query):
        day, currency = row[0], row[1]
        kiosk = row[2] if per_kiosk else ""
        figures = [int(v) for v in row[len(keys) :]]
        out.append(DailySummary(day, store_id, kiosk, currency, *figures))
    return out
