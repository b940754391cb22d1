"""The ``pos.sale.completed/1`` event, its seal (hash) and chain verification. Pure core.

Called by the store (``kiosk.store.lane_store``) inside the sale's transaction, by
``kiosk db check`` and by central consumers. The shape follows docs/mqtt-contract.md:

``lines[]``: ``line`` (line number), ``sku``, ``gtin`` (only when scanned), ``name`` (in the
sale's language), ``qty`` (a decimal string: ``"2"``, ``"0.512"``), ``unit``, ``unit_price``,
``amount`` (the line's gross: unit price × qty, or the barcode's fixed amount), ``discounts``,
``tax_code``, ``tax``. Each entry of ``discounts`` is ``{"kind", "reason", "amount"}`` plus who
made it: ``"promo_id"`` for promotions and coupons, ``"staff"`` for manual discounts and price
overrides. When pricing allocated a share of basket-level adjustments to the line (or capped a
discount at the line's amount), one more entry ``{"kind": "allocation", "reason":
"basket adjustments", "amount": ...}`` makes Σ discounts equal the line's priced discount, so
``amount + Σ discounts`` is always what the line cost.

``totals``: ``gross``, ``discount``, ``tax``, ``rounding`` (cash rounding, its own visible line)
and ``due`` = totals.due + rounding. ``member`` is present only with a member: ``id``,
``points_earned``, ``points_redeemed`` and ``stored_value_used`` (minor units), so central can
reconcile the member's accounts across kiosks (docs/loyalty.md); the points and stored value
tenders are in ``tenders`` with types ``points`` and ``stored_value``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

from kiosk.basket import Adjustment, Line
from kiosk.pricing import PricedLine
from kiosk.protocol.canonical import (
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    check_seq,
    is_hash,
)
from kiosk.sale import AttendantAction, CompletedSale

SALE_COMPLETED: Final[str] = "sale.completed"
SALE_COMPLETED_SCHEMA: Final[str] = "pos.sale.completed/1"

_PROMO_KINDS: Final = frozenset({"promotion", "coupon"})


def receipt_number(kiosk_id: str, seq: int) -> str:
    """The receipt number of the sale with ``seq``: ``{kiosk_id}-{seq}`` (``s0142-k03-184467``)."""
    return f"{kiosk_id}-{check_seq(seq)}"


def qty_text(qty: Decimal) -> str:
    """A quantity as event text: no exponent, no trailing zeros (``2``, ``0.512``, ``10``)."""
    if not isinstance(qty, Decimal) or not qty.is_finite():
        raise ValueError(f"quantity must be a finite Decimal, got {qty!r}")
    if qty == qty.to_integral_value():
        return str(int(qty))
    return format(qty.normalize(), "f")


def _discount(adjustment: Adjustment) -> dict[str, Any]:
    who = "promo_id" if adjustment.kind in _PROMO_KINDS else "staff"
    return {
        "kind": adjustment.kind,
        "reason": adjustment.reason,
        "amount": adjustment.amount,
        who: adjustment.source,
    }


def _line(line: Line, priced: PricedLine, language: str) -> dict[str, Any]:
    discounts = [_discount(a) for a in line.adjustments]
    rest = priced.discount - sum(a.amount for a in line.adjustments)
    if rest:
        discounts.append({"kind": "allocation", "reason": "basket adjustments", "amount": rest})
    out: dict[str, Any] = {
        "line": line.line_no,
        "sku": line.sku,
        "name": line.name(language),
        "qty": qty_text(line.qty),
        "unit": line.unit,
        "unit_price": line.unit_price,
        "amount": priced.gross,
        "discounts": discounts,
        "tax_code": priced.tax_code,
        "tax": priced.tax,
    }
    if line.gtin:
        out["gtin"] = line.gtin
    return out


def _action(action: AttendantAction) -> dict[str, Any]:
    out = {"kind": action.kind, "staff": action.staff, "at": action.at}
    if action.detail:
        out["detail"] = action.detail
    return out


def _priced_lines(sale: CompletedSale) -> dict[int, PricedLine]:
    priced = {p.line_no: p for p in sale.totals.lines}
    if len(priced) != len(sale.totals.lines):
        raise ValueError(f"sale {sale.sale_id}: totals price a line number twice")
    line_nos = {line.line_no for line in sale.lines}
    if len(line_nos) != len(sale.lines):
        raise ValueError(f"sale {sale.sale_id}: a line number appears twice")
    for line_no, p in priced.items():
        if line_no not in line_nos and (p.gross, p.discount, p.amount, p.tax) != (0, 0, 0, 0):
            raise ValueError(f"sale {sale.sale_id}: totals price line {line_no}, not in the sale")
    for line_no in line_nos - priced.keys():
        raise ValueError(f"sale {sale.sale_id}: line {line_no} has no priced line in the totals")
    return priced


def sale_completed_event(sale: CompletedSale, seq: int, prev_hash: str) -> dict[str, Any]:
    """The unsealed sale event for ``sale`` as the ``seq``-th event of its kiosk."""
    check_seq(seq)
    if not is_hash(prev_hash):
        raise ValueError(f"prev_hash must be 64 lowercase hex characters, got {prev_hash!r}")
    if sale.totals.currency != sale.currency:
        raise ValueError(
            f"sale {sale.sale_id}: totals in {sale.totals.currency}, sale in {sale.currency}"
        )
    priced = _priced_lines(sale)
    totals = sale.totals
    event: dict[str, Any] = {
        "schema": SALE_COMPLETED_SCHEMA,
        "event_id": sale.event_id,
        "kiosk_id": sale.kiosk_id,
        "store_id": sale.store_id,
        "seq": seq,
        "boot": sale.boot,
        "occurred_at": sale.occurred_at,
        "business_day": sale.business_day,
        "receipt_no": receipt_number(sale.kiosk_id, seq),
        "currency": sale.currency,
        "lines": [_line(line, priced[line.line_no], sale.language) for line in sale.lines],
        "totals": {
            "gross": totals.gross,
            "discount": totals.discount,
            "tax": totals.tax,
            "rounding": sale.cash_rounding,
            "due": totals.due + sale.cash_rounding,
        },
        "tenders": [t.event_dict() for t in sale.tenders],
        "attendant_actions": [_action(a) for a in sale.attendant_actions],
        "prev_hash": prev_hash,
    }
    if sale.member_id:
        event["member"] = _member(sale)
    elif any(t.type in ("points", "stored_value") for t in sale.tenders):
        raise ValueError(f"sale {sale.sale_id}: points or stored value paid without a member")
    return event


def _member(sale: CompletedSale) -> dict[str, Any]:
    """The ``member`` object; its redemptions must be exactly the sale's member tenders."""
    activity = sale.loyalty
    redeemed = sum(t.points for t in sale.tenders if t.type == "points")
    stored_value = sum(t.amount for t in sale.tenders if t.type == "stored_value")
    if activity is None:
        if redeemed or stored_value:
            raise ValueError(f"sale {sale.sale_id}: member tenders without member activity")
        return {"id": sale.member_id}
    if activity.member_id != sale.member_id:
        raise ValueError(
            f"sale {sale.sale_id}: loyalty of member {activity.member_id}, sale of {sale.member_id}"
        )
    if (activity.points_redeemed, activity.stored_value_used) != (redeemed, stored_value):
        raise ValueError(
            f"sale {sale.sale_id}: member activity redeems {activity.points_redeemed} points and "
            f"{activity.stored_value_used} stored value, the tenders {redeemed} and {stored_value}"
        )
    return activity.event_dict()


def event_body(event: Mapping[str, Any]) -> bytes:
    """The canonical bytes that are hashed: the event without its ``hash`` key."""
    return canonical_json({k: v for k, v in event.items() if k != "hash"})


def seal_with_body(event: Mapping[str, Any]) -> tuple[dict[str, Any], bytes]:
    """``seal(event)`` and the canonical body bytes that were hashed (for the journal)."""
    body = event_body(event)
    return {**event, "hash": chain_hash(event["prev_hash"], event["seq"], body)}, body


def seal(event: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` with ``hash`` = chain_hash(prev_hash, seq, canonical body)."""
    return seal_with_body(event)[0]


def verify_event(event: Mapping[str, Any]) -> str | None:
    """None if ``event``'s hash matches its content, else what is wrong."""
    seq = event.get("seq")
    prev_hash = event.get("prev_hash")
    if not isinstance(prev_hash, str) or not isinstance(seq, int):
        return f"seq {seq!r}: seq or prev_hash missing or of the wrong type"
    try:
        expected = chain_hash(prev_hash, seq, event_body(event))
    except (TypeError, ValueError) as exc:
        return f"seq {seq!r}: cannot be hashed: {exc}"
    if event.get("hash") != expected:
        return f"seq {seq}: hash does not match the event's content (changed after sealing?)"
    return None


def verify_chain(
    events_in_seq_order: Iterable[Mapping[str, Any]], prev_hash: str | None = None
) -> list[str]:
    """Problems found in a run of sealed events of one kiosk (empty list when all is well).

    Checks each hash against its content, that ``seq`` goes up by exactly 1, and that each
    ``prev_hash`` is the hash before it. A run starting at seq 1 must start from
    ``GENESIS_HASH``; a run starting later is checked against ``prev_hash`` when given.
    """
    problems: list[str] = []
    last_seq: int | None = None
    last_hash = prev_hash
    for event in events_in_seq_order:
        seq = event.get("seq")
        problem = verify_event(event)
        if problem:
            problems.append(problem)
        if last_seq is None:
            if seq == 1 and event.get("prev_hash") != GENESIS_HASH:
                problems.append("seq 1: prev_hash is not the genesis hash")
        elif not isinstance(seq, int) or seq != last_seq + 1:
            problems.append(f"seq {seq!r} follows seq {last_seq}: expected {last_seq + 1}")
        if last_hash is not None and event.get("prev_hash") != last_hash:
            problems.append(f"seq {seq}: prev_hash does not match the hash of the event before")
        last_seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else last_seq
        last_hash = event.get("hash") if isinstance(event.get("hash"), str) else None
    return problems
