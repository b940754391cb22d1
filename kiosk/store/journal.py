"""The journal (hash-chained event log) and the outbox, written in the caller's transaction.

Called from repositories (``lane_store``) on the lane thread, always inside a
``write_transaction``: ``next_link`` reads the last journal row under the write lock, so the
next ``seq`` is gap-free and unique even with several writers; ``append_event`` writes the
journal row and its pending outbox row. ``kiosk sync`` publishes outbox rows in seq order.

Stored forms: ``journal.body`` is the canonical JSON of the event WITHOUT ``hash`` (the exact
bytes hashed); ``outbox.payload`` is the canonical JSON of the sealed event (with ``hash``),
exactly what is published.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from kiosk.protocol.canonical import GENESIS_HASH, canonical_json
from kiosk.protocol.mqtt import event_topic
from kiosk.protocol.sale_event import event_body


def next_link(conn: sqlite3.Connection) -> tuple[int, str]:
    """``(seq, prev_hash)`` for the next event: (1, GENESIS_HASH) on an empty journal."""
    row = conn.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return 1, GENESIS_HASH
    return int(row[0]) + 1, str(row[1])


def append_event(
    conn: sqlite3.Connection, event_type: str, sealed: Mapping[str, Any], body: bytes | None = None
) -> bytes:
    """Insert the journal and outbox rows of ``sealed``; returns the outbox payload bytes.

    ``body`` is the canonical body already hashed by ``seal_with_body`` (computed when None).
    """
    body_text = (event_body(sealed) if body is None else body).decode("utf-8")
    payload = canonical_json(sealed)
    conn.execute(
        "INSERT INTO journal (seq, event_id, type, body, prev_hash, hash) VALUES (?,?,?,?,?,?)",
        (
            sealed["seq"],
            sealed["event_id"],
            event_type,
            body_text,
            sealed["prev_hash"],
            sealed["hash"],
        ),
    )
    conn.execute(
        "INSERT INTO outbox (seq, event_id, topic, payload, state) VALUES (?,?,?,?, 'pending')",
        (
            sealed["seq"],
            sealed["event_id"],
            event_topic(str(sealed["kiosk_id"]), event_type),
            payload.decode("utf-8"),
        ),
    )
    return payload


def last_seq(conn: sqlite3.Connection) -> int:
    """The highest journal seq (0 when empty)."""
    return int(conn.execute("SELECT coalesce(max(seq), 0) FROM journal").fetchone()[0])
