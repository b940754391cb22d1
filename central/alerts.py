"""The alerts outbox: an alert is written in the transaction that caused it, published after.

``queue_low_stock`` runs inside the inventory transaction (consumer thread or a back-office
command); the inventory consumer's runtime publishes ``pending`` rows on
``pos/v1/store/{store}/alert/low-stock`` and marks them published once the broker has them, so
a crash between commit and publish delays an alert but never loses it (it may be delivered
twice: ``alert_id`` identifies it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, select, update

from central.stock import LowStock, milli_text
from central.storage.schema import alerts_outbox
from kiosk.protocol.mqtt import alerts_topic

LOW_STOCK: Final = "low-stock"


@dataclass(frozen=True, slots=True)
class PendingAlert:
    id: int
    alert_id: str
    topic: str
    payload: str


def low_stock_payload(alert: LowStock, at: str) -> dict[str, str]:
    return {
        "alert": LOW_STOCK,
        "alert_id": f"{LOW_STOCK}:{alert.movement_id}",
        "store_id": alert.store_id,
        "sku": alert.sku,
        "unit": alert.unit,
        "on_hand": milli_text(alert.on_hand_milli),
        "threshold": milli_text(alert.threshold_milli),
        "at": at,
    }


def queue_low_stock(conn: Connection, alerts: Sequence[LowStock], now: str) -> None:
    rows = []
    for alert in alerts:
        payload = low_stock_payload(alert, now)
        rows.append(
            {
                "alert_id": payload["alert_id"],
                "topic": alerts_topic(alert.store_id, LOW_STOCK),
                "payload": json.dumps(payload, sort_keys=True, separators=(",", ":")),
                "created_at": now,
            }
        )
    if rows:
        conn.execute(alerts_outbox.insert(), rows)


def pending_alerts(conn: Connection, limit: int = 100) -> list[PendingAlert]:
    query = (
        select(
            alerts_outbox.c.id,
            alerts_outbox.c.alert_id,
            alerts_outbox.c.topic,
            alerts_outbox.c.payload,
        )
        .where(alerts_outbox.c.published_at.is_(None))
        .order_by(alerts_outbox.c.id)
        .limit(limit)
    )
    return [PendingAlert(r.id, r.alert_id, r.topic, r.payload) for r in conn.execute(query)]


def mark_published(conn: Connection, ids: Sequence[int], now: str) -> None:
    if ids:
        conn.execute(
            update(alerts_outbox).where(alerts_outbox.c.id.in_(list(ids))).values(published_at=now)
        )
