"""The MQTT contract as pure code: canonical JSON, hash chain, event ids, events and topics.

Pure core (no I/O), shared by the kiosk, ``central/`` and ``provisioning/``.
"""

from kiosk.protocol.canonical import GENESIS_HASH, canonical_json, chain_hash
from kiosk.protocol.ids import uuid7
from kiosk.protocol.mqtt import event_topic
from kiosk.protocol.sale_event import (
    SALE_COMPLETED,
    SALE_COMPLETED_SCHEMA,
    event_body,
    receipt_number,
    sale_completed_event,
    seal,
    seal_with_body,
    verify_chain,
    verify_event,
)

__all__ = [
    "GENESIS_HASH",
    "SALE_COMPLETED",
    "SALE_COMPLETED_SCHEMA",
    "canonical_json",
    "chain_hash",
    "event_body",
    "event_topic",
    "receipt_number",
    "sale_completed_event",
    "seal",
    "seal_with_body",
    "uuid7",
    "verify_chain",
    "verify_event",
]
