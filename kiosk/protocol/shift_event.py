"""The ``pos.shift.closed/1`` event, exactly as docs/central.md defines it. Pure core.

Built by the store (``kiosk.store.shifts``) inside the shift close's transaction: the event is
the next ``seq`` of the kiosk's journal, sealed into the same hash chain as the sales
(``kiosk.protocol.sale_event.seal_with_body``). Its fields are the envelope, ``shift_id``,
``currency``, ``first_seq`` (the seq after the previous shift close), ``last_seq`` (the seq
before this event), ``last_hash`` (the hash at ``last_seq``, which is this event's
``prev_hash``), ``sales`` (``count`` of sale events and the sums of their ``gross``,
``discount``, ``tax``, ``rounding``, ``due``) and ``tenders`` (per tender type of the sales:
``count`` of payments, ``amount``, ``change``). Central reconciles these against its ledger.
Refunds, the cash count and the adjustments are on the printed Z report (``kiosk.shift``);
this schema has no field for them.
"""

from __future__ import annotations

from typing import Any, Final

from kiosk.protocol.canonical import GENESIS_HASH, check_seq, is_hash
from kiosk.shift import ShiftFigures

SHIFT_CLOSED: Final[str] = "shift.closed"
SHIFT_CLOSED_SCHEMA: Final[str] = "pos.shift.closed/1"


def shift_number(kiosk_id: str, number: int) -> str:
    """The id of the ``number``-th shift of a kiosk: ``s0142-k03-shift-7``."""
    if number < 1:
        raise ValueError(f"a shift number starts at 1, got {number}")
    return f"{kiosk_id}-shift-{number}"


def shift_closed_event(
    *,
    event_id: str,
    kiosk_id: str,
    store_id: str,
    seq: int,
    boot: int,
    occurred_at: str,
    business_day: str,
    prev_hash: str,
    shift_id: str,
    figures: ShiftFigures,
) -> dict[str, Any]:
    """The unsealed shift close for ``figures`` as the ``seq``-th event of its kiosk."""
    check_seq(seq)
    if not is_hash(prev_hash):
        raise ValueError(f"prev_hash must be 64 lowercase hex characters, got {prev_hash!r}")
    if figures.last_seq != seq - 1:
        raise ValueError(f"the shift ends at seq {figures.last_seq}, not just before {seq}")
    expected_last = prev_hash if figures.last_seq else GENESIS_HASH
    if figures.last_hash != expected_last:
        raise ValueError("last_hash is not the hash of the event at last_seq")
    if sum(t.amount for t in figures.tenders) != figures.sales.due:
        raise ValueError("the tenders do not add up to the sales due")
    return {
        "schema": SHIFT_CLOSED_SCHEMA,
        "event_id": event_id,
        "kiosk_id": kiosk_id,
        "store_id": store_id,
        "seq": seq,
        "boot": boot,
        "occurred_at": occurred_at,
        "business_day": business_day,
        "shift_id": shift_id,
        "currency": figures.currency,
        "first_seq": figures.first_seq,
        "last_seq": figures.last_seq,
        "last_hash": figures.last_hash,
        "sales": figures.sales.to_dict(),
        "tenders": [
            {"type": t.type, "count": t.count, "amount": t.amount, "change": t.change}
            for t in figures.tenders
        ],
        "prev_hash": prev_hash,
    }
