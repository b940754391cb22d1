"""Parking refused payloads in ``dead_letters`` (and reading them back for the CLI).

``park`` runs inside the consumer's batch transaction (consumer thread); the message is then
PUBACKed like any other, so a bad payload never blocks the queue. The same payload parked again
(a kiosk republishing it) on the same topic for the same reason bumps ``times_seen`` on
its row instead of adding rows; the same bytes on another topic or refused for another reason
are a row of their own, so a row's topic and reason always belong together.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from central.events import Rejection
from central.storage.schema import dead_letters

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    consumer_group: str
    topic: str
    reason_code: str
    reason: str
    kiosk_id: str | None
    event_id: str | None
    seq: int | None
    payload_size: int
    times_seen: int
    first_seen: str
    last_seen: str


def park(
    conn: Connection,
    group: str,
    topic: str,
    payload: bytes,
    rejection: Rejection,
    now: str,
    keep_bytes: int,
) -> None:
    """Record ``payload`` as refused for ``rejection`` (at most ``keep_bytes`` of it kept)."""
    digest = hashlib.sha256(payload).hexdigest()
    logger.warning(
        "parked a message of %s on %s (kiosk %s, seq %s, event %s): %s",
        group,
        topic,
        rejection.kiosk_id,
        rejection.seq,
        rejection.event_id,
        rejection.reason,
    )
    row_id = conn.execute(
        select(dead_letters.c.id).where(
            dead_letters.c.consumer_group == group,
            dead_letters.c.payload_sha256 == digest,
            dead_letters.c.topic == topic,
            dead_letters.c.reason_code == rejection.code,
        )
    ).scalar()
    if row_id is not None:
        conn.execute(
            update(dead_letters)
            .where(dead_letters.c.id == row_id)
            .values(
                times_seen=dead_letters.c.times_seen + 1,
                last_seen=now,
                reason=rejection.reason,
            )
        )
        return
    conn.execute(
        dead_letters.insert(),
        {
            "consumer_group": group,
            "payload_sha256": digest,
            "topic": topic,
            "reason_code": rejection.code,
            "reason": rejection.reason,
            "kiosk_id": rejection.kiosk_id,
            "event_id": rejection.event_id,
            "seq": rejection.seq,
            "payload": payload[:keep_bytes],
            "payload_size": len(payload),
            "first_seen": now,
            "last_seen": now,
            "times_seen": 1,
        },
    )


def list_dead_letters(
    conn: Connection, group: str | None = None, limit: int = 1000
) -> list[DeadLetter]:
    query = select(dead_letters).order_by(dead_letters.c.id).limit(limit)
    if group:
        query = query.where(dead_letters.c.consumer_group == group)
    out = []
    for r in conn.execute(query):
        row: Any = r
        out.append(
            DeadLetter(
                row.id,
                row.consumer_group,
                row.topic,
                row.reason_code,
                row.reason,
                row.kiosk_id,
                row.event_id,
                row.seq,
                row.payload_size,
                row.times_seen,
                row.first_seen,
                row.last_seen,
            )
        )
    return out
