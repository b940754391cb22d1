"""Every message is validated here before anything is written: size, JSON, topic, schema id,
envelope fields and types, known kiosk, the event's own hash, then the schema's body. Pure.

Called by the consumer thread (``central.apply``) on each MQTT payload. ``validate`` returns an
``Event`` or a ``Rejection`` (never raises on bad input), so a bad payload is parked with its
reason and the queue moves on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from central.config import KioskRegistry
from central.event_schemas import SCHEMAS, Inconsistent
from central.events import (
    BAD_TOPIC,
    HASH_MISMATCH,
    INCONSISTENT,
    INVALID,
    MALFORMED,
    OVERSIZED,
    UNKNOWN_KIOSK,
    UNKNOWN_SCHEMA,
    Envelope,
    Event,
    Rejection,
)
from central.fields import FieldError, need_day, need_int, need_str, need_time
from kiosk.protocol.canonical import check_seq, is_hash
from kiosk.protocol.mqtt import ProtocolError, parse_event_topic
from kiosk.protocol.sale_event import verify_event

_EVENT_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decode(payload: bytes, max_bytes: int) -> Mapping[str, Any] | Rejection:
    if len(payload) > max_bytes:
        return Rejection(OVERSIZED, f"{len(payload)} bytes is over the limit of {max_bytes}")
    try:
        data = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        return Rejection(MALFORMED, f"not UTF-8: {exc}")
    except (ValueError, RecursionError) as exc:
        return Rejection(MALFORMED, f"not JSON: {exc}")
    if not isinstance(data, dict):
        return Rejection(MALFORMED, f"the payload is a JSON {type(data).__name__}, not an object")
    return data


def _ids(data: Mapping[str, Any]) -> dict[str, Any]:
    """Whatever ids can be read from a refused payload, for the dead-letter row."""
    kiosk = data.get("kiosk_id")
    event_id = data.get("event_id")
    seq = data.get("seq")
    return {
        "kiosk_id": kiosk if isinstance(kiosk, str) and len(kiosk) <= 64 else None,
        "event_id": event_id if isinstance(event_id, str) and len(event_id) <= 64 else None,
        "seq": seq
        if isinstance(seq, int) and not isinstance(seq, bool) and 0 < seq < 2**63
        else None,
    }


def _envelope(data: Mapping[str, Any], schema: str, event_type: str) -> Envelope:
    event_id = need_str(data, "event_id", max_len=64)
    if not set(event_id) <= _EVENT_ID_CHARS:
        raise FieldError(f"event_id {event_id!r} must be a ULID or UUID")
    seq = need_int(data, "seq", "", 1, 2**63 - 1)
    check_seq(seq)
    hashes = {name: need_str(data, name, max_len=64) for name in ("prev_hash", "hash")}
    for name, value in hashes.items():
        if not is_hash(value):
            raise FieldError(f"{name} must be 64 lowercase hex characters")
    return Envelope(
        schema=schema,
        event_type=event_type,
        event_id=event_id,
        kiosk_id=need_str(data, "kiosk_id", max_len=63),
        store_id=need_str(data, "store_id", max_len=63),
        seq=seq,
        boot=need_int(data, "boot", "", 0, 2**63 - 1),
        occurred_at=need_time(data, "occurred_at"),
        business_day=need_day(data, "business_day"),
        prev_hash=hashes["prev_hash"],
        hash=hashes["hash"],
    )


def validate(
    topic: str, payload: bytes, kiosks: KioskRegistry, max_bytes: int
) -> Event | Rejection:
    """The typed event in ``payload`` (received on ``topic``), or why it must be parked."""
    decoded = _decode(payload, max_bytes)
    if isinstance(decoded, Rejection):
        return decoded
    data = decoded
    ids = _ids(data)
    try:
        where = parse_event_topic(topic)
    except ProtocolError as exc:
        return Rejection(BAD_TOPIC, str(exc), **ids)
    schema = data.get("schema")
    spec = SCHEMAS.get(schema) if isinstance(schema, str) else None
    if spec is None or not isinstance(schema, str):
        known = ", ".join(sorted(SCHEMAS))
        return Rejection(UNKNOWN_SCHEMA, f"schema {schema!r} is not one of {known}", **ids)
    if spec.event_type != where.event_type:
        return Rejection(
            UNKNOWN_SCHEMA,
            f"schema {schema} arrived on event type {where.event_type!r}, "
            f"expected {spec.event_type!r}",
            **ids,
        )
    try:
        envelope = _envelope(data, schema, spec.event_type)
    except FieldError as exc:
        return Rejection(INVALID, str(exc), **ids)
    if envelope.kiosk_id != where.kiosk_id:
        return Rejection(
            UNKNOWN_KIOSK,
            f"kiosk_id {envelope.kiosk_id} published on kiosk {where.kiosk_id}'s topic",
            **ids,
        )
    problem = kiosks.problem(envelope.kiosk_id, envelope.store_id)
    if problem:
        return Rejection(UNKNOWN_KIOSK, problem, **ids)
    problem = verify_event(data)
    if problem:
        return Rejection(HASH_MISMATCH, problem, **ids)
    try:
        body = spec.parse(envelope, data)
    except FieldError as exc:
        return Rejection(INVALID, str(exc), **ids)
    except Inconsistent as exc:
        return Rejection(INCONSISTENT, str(exc), **ids)
    return Event(envelope, body)
