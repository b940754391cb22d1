"""The ``pos.sale.refunded/1`` event: a return of some units of a recorded sale. Pure core.

Built by the store (``kiosk.store.refunds``) inside the refund's transaction, with the next
``seq`` and ``prev_hash`` of the kiosk's journal, and sealed into the same hash chain as the
sales (``kiosk.protocol.sale_event.seal_with_body``). Central parses it
(``central.event_schemas``). The shape mirrors ``pos.sale.completed/1`` so a consumer reverses a
refund with the same code it applies a sale with; every amount has the sign it had in the sale
(gross and tax positive, discounts negative) and is this refund's share of it:

``refund_no`` (``{kiosk_id}-{seq}``, printed on the refund slip), ``refund_id``, ``staff`` (who
made it), ``original`` (``receipt_no``, ``kiosk_id``, ``seq``, ``event_id``, ``business_day`` of
the sale), ``currency``, ``lines[]`` (``line`` = the original line number, ``sku``, ``name``,
``qty`` refunded as a decimal string, ``unit``, ``unit_price``, ``amount`` = gross share,
``discounts`` = shares of the original entries, ``tax_code``, ``tax``), ``totals`` (``gross``,
``discount``, ``tax``, ``rounding``, ``due`` = what went back), ``tenders[]`` (``type`` ``card``
with ``original_ref``, ``ref``, ``auth``, ``last4``; ``cash``; ``points`` or ``stored_value``
given back to the member's account), and ``member`` when the sale had one: ``id``,
``points_refunded``, ``stored_value_refunded``, ``points_reversed`` (earned points taken back)
and ``points_unrecovered`` (of those, what the kiosk's ledger could not take).
``Σ tenders = due`` and ``due - rounding = gross + discount`` (tax inclusive) or that
``+ tax`` (exclusive), exactly as for a sale.
"""

from __future__ import annotations

from typing import Any, Final

from kiosk.loyalty import RefundActivity
from kiosk.protocol.canonical import check_seq, is_hash
from kiosk.protocol.sale_event import qty_text, receipt_number
from kiosk.refunds import CompletedRefund, check_tenders
from kiosk.returns import RefundLine

SALE_REFUNDED: Final[str] = "sale.refunded"
SALE_REFUNDED_SCHEMA: Final[str] = "pos.sale.refunded/1"


def _line(line: RefundLine) -> dict[str, Any]:
    return {
        "line": line.line_no,
        "sku": line.sku,
        "name": line.name,
        "qty": qty_text(line.qty),
        "unit": line.unit,
        "unit_price": line.unit_price,
        "amount": line.gross,
        "discounts": [dict(d) for d in line.discounts],
        "tax_code": line.tax_code,
        "tax": line.tax,
    }


def sale_refunded_event(
    refund: CompletedRefund,
    seq: int,
    prev_hash: str,
    loyalty: RefundActivity | None = None,
) -> dict[str, Any]:
    """The unsealed refund event for ``refund`` as the ``seq``-th event of its kiosk;
    ``loyalty`` is its member activity as the store recorded it (default: as planned)."""
    check_seq(seq)
    if not is_hash(prev_hash):
        raise ValueError(f"prev_hash must be 64 lowercase hex characters, got {prev_hash!r}")
    plan = refund.plan
    if not plan.lines:
        raise ValueError(f"refund {refund.refund_id} has no lines")
    check_tenders(plan, refund.tenders)
    original = refund.original
    event: dict[str, Any] = {
        "schema": SALE_REFUNDED_SCHEMA,
        "event_id": refund.event_id,
        "kiosk_id": refund.kiosk_id,
        "store_id": refund.store_id,
        "seq": seq,
        "boot": refund.boot,
        "occurred_at": refund.occurred_at,
        "business_day": refund.business_day,
        "refund_no": receipt_number(refund.kiosk_id, seq),
        "refund_id": refund.refund_id,
        "staff": refund.staff,
        "original": {
            "receipt_no": original.receipt_no,
            "kiosk_id": original.kiosk_id,
            "seq": original.seq,
            "event_id": original.event_id,
            "business_day": original.business_day,
        },
        "currency": original.currency,
        "lines": [_line(line) for line in plan.lines],
        "totals": {
            "gross": plan.gross,
            "discount": plan.discount,
            "tax": plan.tax,
            "rounding": refund.rounding,
            "due": refund.due,
        },
        "tenders": [t.event_dict() for t in refund.tenders],
        "prev_hash": prev_hash,
    }
    if original.member_id:
        activity = loyalty or refund.loyalty()
        assert activity is not None
        if activity.member_id != original.member_id:
            raise ValueError(f"refund {refund.refund_id}: loyalty of another member")
        event["member"] = activity.event_dict()
    return event
