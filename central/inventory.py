"""The inventory consumer: stock on hand per store and SKU from kiosk events and the back office.

``InventoryHandler.apply`` runs in the consumer thread inside the batch transaction: each line
of a ``pos.sale.completed/1`` takes its quantity off the store's stock (weighed items by
weight: ``"0.512"`` kg is 512 thousandths); each line of a ``pos.sale.refunded/1`` puts its
refunded quantity back (a ``refund`` movement). ``pos.shift.closed/1`` has no stock effect; it
is recorded as processed so the kiosk's seq stays contiguous. ``record_back_office`` is what
``kiosk-central stock receive|adjust|count`` call (CLI main thread), in its own transaction.
Low-stock alerts go through the alerts outbox (``central.alerts``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from central.alerts import queue_low_stock
from central.chain import Progress
from central.config import InventoryConfig
from central.events import Event, SaleCompleted, SaleRefunded
from central.stock import LowStock, Movement, apply_movements, to_milli
from central.storage.schema import stock_items, stock_movements

logger = logging.getLogger(__name__)


class InventoryHandler:
    checks_chain = False

    def __init__(self, config: InventoryConfig) -> None:
        self.config = config

    @property
    def group(self) -> str:
        return self.config.group

    def threshold_milli(self, sku: str) -> int:
        return to_milli(self.config.threshold(sku))

    def apply(self, conn: Connection, events: Sequence[Event], now: str) -> None:
        movements = []
        for event in events:
            env, body = event.envelope, event.body
            if not isinstance(body, SaleCompleted | SaleRefunded):
                continue
            refund = isinstance(body, SaleRefunded)
            for line in body.lines:
                movements.append(
                    Movement(
                        movement_id=f"{env.event_id}:{line.line_no}",
                        store_id=env.store_id,
                        sku=line.sku,
                        kind="refund" if refund else "sale",
                        qty_milli=to_milli(line.qty) if refund else -to_milli(line.qty),
                        unit=line.unit,
                        business_day=env.business_day,
                        event_id=env.event_id,
                        kiosk_id=env.kiosk_id,
                        seq=env.seq,
                    )
                )
        alerts = apply_movements(conn, movements, self.threshold_milli, now)
        queue_low_stock(conn, alerts, now)

    def after_advance(self, conn: Connection, progress: Progress, now: str) -> None:
        """Stock does not depend on the order of sales: nothing waits for the chain."""


@dataclass(frozen=True, slots=True)
class BackOfficeResult:
    on_hand_milli: int
    unit: str
    alerts: tuple[LowStock, ...]
    duplicate: bool  # the movement id was recorded before: nothing changed


def record_back_office(
    engine: Engine, movement: Movement, config: InventoryConfig, now: str
) -> BackOfficeResult:
    """Record a receive, adjust or count in its own transaction (idempotent by movement id)."""
    if movement.kind not in ("receive", "adjust", "count"):
        raise ValueError(f"{movement.kind!r} is not a back-office movement")
    handler = InventoryHandler(config)
    with engine.begin() as conn:
        seen = conn.execute(
            select(stock_movements.c.id).where(
                stock_movements.c.movement_id == movement.movement_id
            )
        ).scalar()
        alerts: list[LowStock] = []
        if seen is None:
            alerts = apply_movements(conn, [movement], handler.threshold_milli, now)
            queue_low_stock(conn, alerts, now)
        row = conn.execute(
            select(stock_items.c.on_hand_milli, stock_items.c.unit).where(
                stock_items.c.store_id == movement.store_id, stock_items.c.sku == movement.sku
            )
        ).one()
    logger.info(
        "%s of %s/%s recorded (%s): on hand %s",
        movement.kind,
        movement.store_id,
        movement.sku,
        movement.movement_id,
        row.on_hand_milli,
    )
    return BackOfficeResult(row.on_hand_milli, row.unit, tuple(alerts), seen is not None)
