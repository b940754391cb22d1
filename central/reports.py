"""``kiosk-central report sales|tax|tenders|stock|shifts|discrepancies|members``: the queries.

Called by the CLI (main thread) on a read-only connection. Each report is a ``Report``: columns
with their kind (``money`` is minor units in the row's ``currency``, ``qty`` thousandths of a
unit) and plain rows; ``central.report_format`` renders it as a table, CSV or JSON.
Days are business days (``YYYY-MM-DD``, inclusive).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, case, func, select

from central.finance import daily_summaries
from central.members import member_problems
from central.storage.schema import discrepancies, ledger_lines, shifts, stock_items, stock_movements

KINDS: Final = ("sales", "tax", "tenders", "stock", "shifts", "discrepancies", "members")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: str = "text"  # text | int | money | qty


@dataclass(frozen=True, slots=True)
class Report:
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ReportQuery:
    store_id: str
    first_day: str
    last_day: str
    per_kiosk: bool = False
    points_cap: int = 0  # members: the daily caps of the kiosks' [loyalty] (0: not checked)
    stored_value_cap: int = 0


def _sales(conn: Connection, q: ReportQuery) -> Report:
    rows = [
        {
            "business_day": s.business_day,
            **({"kiosk_id": s.kiosk_id} if q.per_kiosk else {}),
            "currency": s.currency,
            "sales": s.sales,
            "gross": s.gross,
            "discount": s.discount,
            "tax": s.tax,
            "rounding": s.rounding,
            "due": s.due,
        }
        for s in daily_summaries(conn, q.store_id, q.first_day, q.last_day, q.per_kiosk)
    ]
    columns = (
        Column("business_day"),
        *((Column("kiosk_id"),) if q.per_kiosk else ()),
        Column("currency"),
        Column("sales", "int"),
        *(Column(n, "money") for n in ("gross", "discount", "tax", "rounding", "due")),
    )
    return Report(f"Sales of {q.store_id}, {q.first_day}..{q.last_day}", columns, rows)


def _ledger_sums(
    conn: Connection, q: ReportQuery, accounts: tuple[str, ...]
) -> dict[tuple[str, str, str], dict[str, int]]:
    lc = ledger_lines.c
    out: dict[tuple[str, str, str], dict[str, int]] = {}
    query = (
        select(
            lc.business_day,
            lc.currency,
            lc.code,
            lc.account,
            func.sum(lc.amount),
            func.sum(lc.count),
        )
        .where(
            lc.store_id == q.store_id,
            lc.business_day.between(q.first_day, q.last_day),
            lc.account.in_(accounts),
        )
        .group_by(lc.business_day, lc.currency, lc.code, lc.account)
    )
    for day, currency, code, account, amount, count in conn.execute(query):
        entry = out.setdefault((day, currency, code), {})
        entry[account] = int(amount)
        entry[f"{account}_count"] = int(count)
    return dict(sorted(out.items()))


def _tax(conn: Connection, q: ReportQuery) -> Report:
    rows = []
    for (day, currency, code), sums in _ledger_sums(conn, q, ("revenue", "tax")).items():
        net, tax = sums.get("revenue", 0), sums.get("tax", 0)
        rows.append(
            {
                "business_day": day,
                "currency": currency,
                "tax_code": code,
                "net": net,
                "tax": tax,
                "total": net + tax,
            }
        )
    columns = (
        Column("business_day"),
        Column("currency"),
        Column("tax_code"),
        Column("net", "money"),
        Column("tax", "money"),
        Column("total", "money"),
    )
    return Report(f"Tax of {q.store_id}, {q.first_day}..{q.last_day}", columns, rows)


def _tenders(conn: Connection, q: ReportQuery) -> Report:
    rows = []
    for (day, currency, code), sums in _ledger_sums(
        conn, q, ("tender", "tendered", "change")
    ).items():
        rows.append(
            {
                "business_day": day,
                "currency": currency,
                "tender": code,
                "payments": sums.get("tender_count", 0),
                "amount": sums.get("tender", 0),
                "tendered": sums.get("tendered", 0),
                "change": sums.get("change", 0),
            }
        )
    columns = (
        Column("business_day"),
        Column("currency"),
        Column("tender"),
        Column("payments", "int"),
        Column("amount", "money"),
        Column("tendered", "money"),
        Column("change", "money"),
    )
    return Report(f"Tenders of {q.store_id}, {q.first_day}..{q.last_day}", columns, rows)


def _stock(conn: Connection, q: ReportQuery) -> Report:
    m = stock_movements.c

    def moved(*kinds: str) -> Any:
        return func.coalesce(func.sum(case((m.kind.in_(kinds), m.qty_milli), else_=0)), 0)

    movements = {
        row.sku: row
        for row in conn.execute(
            select(
                m.sku,
                moved("sale").label("sold"),
                moved("refund", "void").label("returned"),
                moved("receive").label("received"),
                moved("adjust", "count").label("adjusted"),
            )
            .where(m.store_id == q.store_id, m.business_day.between(q.first_day, q.last_day))
            .group_by(m.sku)
        )
    }
    rows = []
    s = stock_items.c
    for item in conn.execute(select(stock_items).where(s.store_id == q.store_id).order_by(s.sku)):
        mv = movements.get(item.sku)
        rows.append(
            {
                "sku": item.sku,
                "unit": item.unit,
                "on_hand": item.on_hand_milli,
                "sold": -int(mv.sold) if mv else 0,
                "returned": int(mv.returned) if mv else 0,
                "received": int(mv.received) if mv else 0,
                "adjusted": int(mv.adjusted) if mv else 0,
                "low": "yes" if item.low else "",
            }
        )
    columns = (
        Column("sku"),
        Column("unit"),
        Column("on_hand", "qty"),
        Column("sold", "qty"),
        Column("returned", "qty"),
        Column("received", "qty"),
        Column("adjusted", "qty"),
        Column("low"),
    )
    return Report(f"Stock of {q.store_id} (movements {q.first_day}..{q.last_day})", columns, rows)


def _shifts(conn: Connection, q: ReportQuery) -> Report:
    s = shifts.c
    query = (
        select(s.business_day, s.kiosk_id, s.shift_id, s.first_seq, s.last_seq, s.status, s.detail)
        .where(s.store_id == q.store_id, s.business_day.between(q.first_day, q.last_day))
        .order_by(s.business_day, s.kiosk_id, s.seq)
    )
    rows = [dict(row._mapping) for row in conn.execute(query)]
    columns = (
        Column("business_day"),
        Column("kiosk_id"),
        Column("shift_id"),
        Column("first_seq", "int"),
        Column("last_seq", "int"),
        Column("status"),
        Column("detail"),
    )
    return Report(f"Shifts of {q.store_id}, {q.first_day}..{q.last_day}", columns, rows)


def _discrepancies(conn: Connection, q: ReportQuery) -> Report:
    d = discrepancies.c
    query = (
        select(d.business_day, d.consumer_group, d.kind, d.kiosk_id, d.seq, d.detail, d.detected_at)
        .where(d.store_id == q.store_id, d.business_day.between(q.first_day, q.last_day))
        .order_by(d.id)
    )
    rows = [dict(row._mapping) for row in conn.execute(query)]
    columns = (
        Column("business_day"),
        Column("consumer_group"),
        Column("kind"),
        Column("kiosk_id"),
        Column("seq", "int"),
        Column("detail"),
        Column("detected_at"),
    )
    return Report(f"Discrepancies of {q.store_id}, {q.first_day}..{q.last_day}", columns, rows)


def _members(conn: Connection, q: ReportQuery) -> Report:
    rows = [
        {
            "business_day": m.business_day,
            "member_id": m.member_id,
            "kiosks": ",".join(m.kiosks),
            "points_spent": m.points_spent,
            "stored_value_spent": m.stored_value_spent,
            "points_balance": m.points_balance,
            "stored_value_balance": m.stored_value_balance,
            "problem": "; ".join(m.problems),
        }
        for m in member_problems(
            conn, q.store_id, q.first_day, q.last_day, q.points_cap, q.stored_value_cap
        )
    ]
    columns = (
        Column("business_day"),
        Column("member_id"),
        Column("kiosks"),
        Column("points_spent", "int"),
        Column("stored_value_spent", "int"),
        Column("points_balance", "int"),
        Column("stored_value_balance", "int"),
        Column("problem"),
    )
    return Report(
        f"Members over the caps or below zero, {q.store_id}, {q.first_day}..{q.last_day}",
        columns,
        rows,
    )


_BUILDERS: Final[dict[str, Callable[[Connection, ReportQuery], Report]]] = {
    "sales": _sales,
    "tax": _tax,
    "tenders": _tenders,
    "stock": _stock,
    "shifts": _shifts,
    "discrepancies": _discrepancies,
    "members": _members,
}


def build_report(conn: Connection, kind: str, query: ReportQuery) -> Report:
    if kind not in _BUILDERS:
        raise ValueError(f"unknown report {kind!r}; use one of {', '.join(KINDS)}")
    return _BUILDERS[kind](conn, query)
