"""Stock on hand per store and SKU, changed only through recorded movements.

Called inside a write transaction by the inventory consumer (sales, from its thread) and by the
back-office commands ``kiosk-central stock receive|adjust|count`` (main thread of the CLI).
Quantities are integer thousandths of the SKU's unit (``to_milli(Decimal("0.512")) == 512``).

``apply_movements`` locks the rows it changes (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
writers are already serialised by ``BEGIN IMMEDIATE``), applies the movements in order, records
each one with the on-hand figure after it, and returns the SKUs that just fell below their
low-stock threshold (an SKU alerts once, and again only after it was back at or above it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from sqlalchemy import Connection, and_, bindparam, select, update

from central.storage import bulk_insert, insert_ignoring_duplicates
from central.storage.schema import stock_items, stock_movements

logger = logging.getLogger(__name__)

KINDS: Final = ("sale", "refund", "void", "receive", "adjust", "count")
_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class Movement:
    """One change of stock. ``qty_milli`` is a signed change, except for ``count`` where it is
    the counted on-hand figure that replaces the old one."""

    movement_id: str
    store_id: str
    sku: str
    kind: str
    qty_milli: int
    unit: str
    business_day: str
    event_id: str | None = None
    kiosk_id: str | None = None
    seq: int | None = None
    supplier: str | None = None
    purchase_order: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LowStock:
    store_id: str
    sku: str
    unit: str
    on_hand_milli: int
    threshold_milli: int
    movement_id: str


def to_milli(qty: Decimal) -> int:
    """A quantity in thousandths of its unit (finer fractions round half-even)."""
    return int((qty * 1000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def milli_text(milli: int) -> str:
    """``512`` -> ``"0.512"``, ``2000`` -> ``"2"``, ``-1500`` -> ``"-1.5"``."""
    value = Decimal(milli).scaleb(-3)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _lock_items(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    rows: dict[tuple[str, str], Any] = {}
    by_store: dict[str, list[str]] = {}
    for store_id, sku in keys:
        by_store.setdefault(store_id, []).append(sku)
    for store_id, skus in sorted(by_store.items()):
        for i in range(0, len(skus), _CHUNK):
            query = (
                select(stock_items)
                .where(
                    stock_items.c.store_id == store_id, stock_items.c.sku.in_(skus[i : i + _CHUNK])
                )
                .order_by(stock_items.c.sku)
                .with_for_update()
            )
            for row in conn.execute(query):
                rows[(row.store_id, row.sku)] = row
    return rows


def apply_movements(
    conn: Connection,
    movements: Sequence[Movement],
    threshold_milli: Callable[[str], int],
    now: str,
) -> list[LowStock]:
    """Apply ``movements`` in order inside the caller's transaction; the new low-stock SKUs."""
    if not movements:
        return []
    for m in movements:
        if m.kind not in KINDS:
            raise ValueError(f"unknown stock movement kind {m.kind!r}")
    first: dict[tuple[str, str], Movement] = {}
    for m in movements:
        first.setdefault((m.store_id, m.sku), m)
    insert_ignoring_duplicates(
        conn,
        stock_items,
        [
            {
                "store_id": s,
                "sku": k,
                "unit": m.unit,
                "on_hand_milli": 0,
                "low": False,
                "updated_at": now,
            }
            for (s, k), m in sorted(first.items())
        ],
        ("store_id", "sku"),
    )
    rows = _lock_items(conn, sorted(first))
    state = {key: [row.on_hand_milli, bool(row.low), row.unit] for key, row in rows.items()}
    alerts: list[LowStock] = []
    records = []
    for m in movements:
        item = state[(m.store_id, m.sku)]
        before, was_low, unit = item
        after = m.qty_milli if m.kind == "count" else before + m.qty_milli
        if m.unit != unit:
            logger.warning(
                "stock movement %s for %s/%s is in %s, the SKU is kept in %s",
                m.movement_id,
                m.store_id,
                m.sku,
                m.unit,
                unit,
            )
        threshold = threshold_milli(m.sku)
        low = threshold > 0 and after < threshold
        if low and not was_low:
            alerts.append(LowStock(m.store_id, m.sku, unit, after, threshold, m.movement_id))
        item[0], item[1] = after, low
        records.append(
            {
                "movement_id": m.movement_id,
                "store_id": m.store_id,
                "sku": m.sku,
                "kind": m.kind,
                "qty_milli": after - before,
                "on_hand_after_milli": after,
                "unit": m.unit,
                "business_day": m.business_day,
                "event_id": m.event_id,
                "kiosk_id": m.kiosk_id,
                "seq": m.seq,
                "supplier": m.supplier,
                "purchase_order": m.purchase_order,
                "reason": m.reason,
                "created_at": now,
            }
        )
    bulk_insert(conn, stock_movements, records)
    conn.execute(
        update(stock_items)
        .where(
            and_(
                stock_items.c.store_id == bindparam("k_store"),
                stock_items.c.sku == bindparam("k_sku"),
            )
        )
        .values(on_hand_milli=bindparam("v_on_hand"), low=bindparam("v_low"), updated_at=now),
        [
            {"k_store": s, "k_sku": k, "v_on_hand": v[0], "v_low": v[1]}
            for (s, k), v in sorted(state.items())
        ],
    )
    return alerts
