"""Body parsers for each event schema central understands, and their consistency checks. Pure.

Called by ``central.validation`` (the consumer thread) after the envelope and the hash passed.
A parser returns the typed body or raises ``FieldError`` (a field missing or of the wrong type)
or ``Inconsistent`` (the fields disagree, e.g. tenders do not add up to the amount due).

``SCHEMAS`` maps each schema id to its event type (the last topic level) and its parser; a
schema not in it is parked as ``unknown_schema``. ``pos.sale.voided/1`` is not defined by the
kiosk yet, so it is parked too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from central.events import (
    Body,
    Discount,
    Envelope,
    RefundMember,
    SaleCompleted,
    SaleLine,
    SaleMember,
    SaleRefunded,
    SaleTotals,
    ShiftClosed,
    ShiftSales,
    ShiftTender,
    TenderPaid,
)
from central.fields import (
    MAX_COUNT,
    FieldError,
    need_int,
    need_list,
    need_money,
    need_obj,
    need_qty,
    need_str,
    objects,
)
from kiosk.money import CURRENCY_EXPONENTS
from kiosk.protocol.canonical import is_hash
from kiosk.protocol.refund_event import SALE_REFUNDED, SALE_REFUNDED_SCHEMA
from kiosk.protocol.sale_event import SALE_COMPLETED, SALE_COMPLETED_SCHEMA, receipt_number

SHIFT_CLOSED: Final = "shift.closed"
# Tender types of money that went back (a refund), and those paid from a member's account.
REFUND_TENDERS: Final = frozenset({"card", "cash", "points", "stored_value"})
MEMBER_TENDERS: Final = frozenset({"points", "stored_value"})
_MAX_POINTS: Final = 10**15
SHIFT_CLOSED_SCHEMA: Final = "pos.shift.closed/1"
_MAX_SEQ: Final = 2**63 - 1


class Inconsistent(ValueError):
    """The event's fields are each well-formed but do not agree with each other."""


def _currency(data: Mapping[str, Any]) -> str:
    currency = need_str(data, "currency", max_len=3)
    if currency not in CURRENCY_EXPONENTS:
        raise FieldError(f"currency {currency!r} is not a known ISO 4217 code")
    return currency


def _line(data: Mapping[str, Any], where: str) -> SaleLine:
    discounts = tuple(
        Discount(
            need_str(d, "kind", f"{where}.discounts[{j}]"),
            need_money(d, "amount", f"{where}.discounts[{j}]"),
        )
        for j, d in enumerate(objects(need_list(data, "discounts", where), f"{where}.discounts"))
    )
    return SaleLine(
        line_no=need_int(data, "line", where, 1, MAX_COUNT),
        sku=need_str(data, "sku", where, 64),
        qty=need_qty(data, "qty", where),
        unit=need_str(data, "unit", where, 16),
        amount=need_money(data, "amount", where),
        discounts=discounts,
        tax_code=need_str(data, "tax_code", where, 32),
        tax=need_money(data, "tax", where),
    )


def _tender(data: Mapping[str, Any], where: str) -> TenderPaid:
    tender = TenderPaid(
        type=need_str(data, "type", where, 32),
        amount=need_money(data, "amount", where),
        tendered=need_money(data, "tendered", where, default=0),
        change=need_money(data, "change", where, default=0),
    )
    if "tendered" in data and tender.tendered - tender.change != tender.amount:
        raise Inconsistent(
            f"{where}: tendered {tender.tendered} - change {tender.change} "
            f"!= amount {tender.amount}"
        )
    return tender


def _check(what: str, found: int, expected: int) -> None:
    if found != expected:
        raise Inconsistent(f"{what} is {found}, the lines/tenders add up to {expected}")


def _amounts(
    data: Mapping[str, Any],
) -> tuple[tuple[SaleLine, ...], SaleTotals, tuple[TenderPaid, ...], str]:
    """A refund's lines, totals and tenders, checked as a sale's are; and the tax mode."""
    lines = tuple(
        _line(d, f"lines[{i}]") for i, d in enumerate(objects(need_list(data, "lines"), "lines"))
    )
    t = need_obj(data, "totals")
    totals = SaleTotals(
        gross=need_money(t, "gross", "totals"),
        discount=need_money(t, "discount", "totals"),
        tax=need_money(t, "tax", "totals"),
        rounding=need_money(t, "rounding", "totals"),
        due=need_money(t, "due", "totals"),
    )
    tenders = tuple(
        _tender(d, f"tenders[{i}]")
        for i, d in enumerate(objects(need_list(data, "tenders", max_len=100), "tenders"))
    )
    if not lines:
        raise Inconsistent("a refund needs at least one line")
    if len({line.line_no for line in lines}) != len(lines):
        raise Inconsistent("a line number appears twice")
    _check("totals.gross", totals.gross, sum(line.amount for line in lines))
    _check(
        "totals.discount",
        totals.discount,
        sum(d.amount for line in lines for d in line.discounts),
    )
    _check("totals.tax", totals.tax, sum(line.tax for line in lines))
    _check("totals.due", totals.due, sum(tender.amount for tender in tenders))
    before_rounding = totals.due - totals.rounding
    if before_rounding == totals.gross + totals.discount:
        tax_mode = "inclusive"
    elif before_rounding == totals.gross + totals.discount + totals.tax:
        tax_mode = "exclusive"
    else:
        raise Inconsistent(
            f"totals.due {totals.due} - rounding {totals.rounding} is neither gross + discount "
            f"({totals.gross + totals.discount}) nor that + tax"
        )
    return lines, totals, tenders, tax_mode


def _count(data: Mapping[str, Any], name: str) -> int:
    """A non-negative member figure (points, or minor units) of ``member``; 0 when absent."""
    return need_int(data, name, "member", 0, _MAX_POINTS) if name in data else 0


def _paid_from(tenders: tuple[TenderPaid, ...], kind: str) -> int:
    return sum(t.amount for t in tenders if t.type == kind)


def _sale_member(data: Mapping[str, Any], tenders: tuple[TenderPaid, ...]) -> SaleMember | None:
    """The sale's ``member`` (optional), checked against its member tenders."""
    if "member" not in data:
        if any(t.type in MEMBER_TENDERS for t in tenders):
            raise Inconsistent("points or stored_value tenders without a member")
        return None
    m = need_obj(data, "member")
    member = SaleMember(
        member_id=need_str(m, "id", "member", 64),
        points_earned=_count(m, "points_earned"),
        points_redeemed=_count(m, "points_redeemed"),
        stored_value_used=_count(m, "stored_value_used"),
    )
    if set(m) - {"id"}:  # the figures (an older kiosk sends the id only)
        _check(
            "member.stored_value_used",
            member.stored_value_used,
            _paid_from(tenders, "stored_value"),
        )
        if (member.points_redeemed > 0) != (_paid_from(tenders, "points") > 0):
            raise Inconsistent("member.points_redeemed and the points tenders disagree")
    return member


def _refund_member(data: Mapping[str, Any], tenders: tuple[TenderPaid, ...]) -> RefundMember | None:
    """The refund's ``member`` (optional), checked against what went back to the accounts."""
    if "member" not in data:
        if any(t.type in MEMBER_TENDERS for t in tenders):
            raise Inconsistent("points or stored_value went back without a member")
        return None
    m = need_obj(data, "member")
    member = RefundMember(
        member_id=need_str(m, "id", "member", 64),
        points_refunded=_count(m, "points_refunded"),
        stored_value_refunded=_count(m, "stored_value_refunded"),
        points_reversed=_count(m, "points_reversed"),
        points_unrecovered=_count(m, "points_unrecovered"),
    )
    _check(
        "member.stored_value_refunded",
        member.stored_value_refunded,
        _paid_from(tenders, "stored_value"),
    )
    if (member.points_refunded > 0) != (_paid_from(tenders, "points") > 0):
        raise Inconsistent("member.points_refunded and the points tenders disagree")
    if member.points_unrecovered > member.points_reversed:
        raise Inconsistent(
            f"member.points_unrecovered {member.points_unrecovered} is more than "
            f"points_reversed {member.points_reversed}"
        )
    return member


def parse_sale_refunded(envelope: Envelope, data: Mapping[str, Any]) -> SaleRefunded:
    currency = _currency(data)
    refund_no = need_str(data, "refund_no", max_len=100)
    original = need_obj(data, "original")
    original_receipt = need_str(original, "receipt_no", "original", 100)
    original_seq = need_int(original, "seq", "original", 1, _MAX_SEQ)
    lines, totals, tenders, tax_mode = _amounts(data)
    if refund_no != receipt_number(envelope.kiosk_id, envelope.seq):
        raise Inconsistent(f"refund_no {refund_no!r} is not kiosk id-seq")
    if need_str(original, "kiosk_id", "original", 63) == envelope.kiosk_id and (
        original_seq >= envelope.seq
    ):
        raise Inconsistent(f"original.seq {original_seq} is not before the refund's own seq")
    odd = sorted({t.type for t in tenders} - REFUND_TENDERS)
    if odd:
        raise Inconsistent(
            f"a refund goes back as card, cash, points or stored_value, not {', '.join(odd)}"
        )
    member = _refund_member(data, tenders)
    return SaleRefunded(
        refund_no,
        original_receipt,
        original_seq,
        currency,
        lines,
        totals,
        tenders,
        tax_mode,
        member,
    )


def parse_sale_completed(envelope: Envelope, data: Mapping[str, Any]) -> SaleCompleted:
    currency = _currency(data)
    receipt_no = need_str(data, "receipt_no", max_len=100)
    lines = tuple(
        _line(d, f"lines[{i}]") for i, d in enumerate(objects(need_list(data, "lines"), "lines"))
    )
    t = need_obj(data, "totals")
    totals = SaleTotals(
        gross=need_money(t, "gross", "totals"),
        discount=need_money(t, "discount", "totals"),
        tax=need_money(t, "tax", "totals"),
        rounding=need_money(t, "rounding", "totals"),
        due=need_money(t, "due", "totals"),
    )
    tenders = tuple(
        _tender(d, f"tenders[{i}]")
        for i, d in enumerate(objects(need_list(data, "tenders", max_len=100), "tenders"))
    )
    if not lines:
        raise Inconsistent("a sale needs at least one line")
    if len({line.line_no for line in lines}) != len(lines):
        raise Inconsistent("a line number appears twice")
    if receipt_no != receipt_number(envelope.kiosk_id, envelope.seq):
        raise Inconsistent(f"receipt_no {receipt_no!r} is not kiosk id-seq")
    _check("totals.gross", totals.gross, sum(line.amount for line in lines))
    _check(
        "totals.discount",
        totals.discount,
        sum(d.amount for line in lines for d in line.discounts),
    )
    _check("totals.tax", totals.tax, sum(line.tax for line in lines))
    _check("totals.due", totals.due, sum(tender.amount for tender in tenders))
    before_rounding = totals.due - totals.rounding
    if before_rounding == totals.gross + totals.discount:
        tax_mode = "inclusive"
    elif before_rounding == totals.gross + totals.discount + totals.tax:
        tax_mode = "exclusive"
    else:
        raise Inconsistent(
            f"totals.due {totals.due} - rounding {totals.rounding} is neither gross + discount "
            f"({totals.gross + totals.discount}) nor that + tax"
        )
    member = _sale_member(data, tenders)
    return SaleCompleted(receipt_no, currency, lines, totals, tenders, tax_mode, member)


def parse_shift_closed(envelope: Envelope, data: Mapping[str, Any]) -> ShiftClosed:
    currency = _currency(data)
    first_seq = need_int(data, "first_seq", "", 1, _MAX_SEQ)
    last_seq = need_int(data, "last_seq", "", 0, _MAX_SEQ)
    last_hash = need_str(data, "last_hash", max_len=64)
    if not is_hash(last_hash):
        raise FieldError("last_hash must be 64 lowercase hex characters")
    s = need_obj(data, "sales")
    sales = ShiftSales(
        count=need_int(s, "count", "sales"),
        gross=need_money(s, "gross", "sales"),
        discount=need_money(s, "discount", "sales"),
        tax=need_money(s, "tax", "sales"),
        rounding=need_money(s, "rounding", "sales"),
        due=need_money(s, "due", "sales"),
    )
    tenders = tuple(
        ShiftTender(
            type=need_str(d, "type", f"tenders[{i}]", 32),
            count=need_int(d, "count", f"tenders[{i}]"),
            amount=need_money(d, "amount", f"tenders[{i}]"),
            change=need_money(d, "change", f"tenders[{i}]", default=0),
        )
        for i, d in enumerate(objects(need_list(data, "tenders", max_len=100), "tenders"))
    )
    if last_seq >= envelope.seq:
        raise Inconsistent(f"last_seq {last_seq} is not before the event's own seq {envelope.seq}")
    if first_seq > last_seq + 1:
        raise Inconsistent(f"first_seq {first_seq} is after last_seq {last_seq} + 1")
    if len({t.type for t in tenders}) != len(tenders):
        raise Inconsistent("a tender type appears twice")
    _check("sales.due", sales.due, sum(t.amount for t in tenders))
    return ShiftClosed(
        shift_id=need_str(data, "shift_id", max_len=64),
        currency=currency,
        first_seq=first_seq,
        last_seq=last_seq,
        last_hash=last_hash,
        sales=sales,
        tenders=tenders,
    )


@dataclass(frozen=True, slots=True)
class SchemaSpec:
    event_type: str
    parse: Callable[[Envelope, Mapping[str, Any]], Body]


SCHEMAS: Final[Mapping[str, SchemaSpec]] = {
    SALE_COMPLETED_SCHEMA: SchemaSpec(SALE_COMPLETED, parse_sale_completed),
    SHIFT_CLOSED_SCHEMA: SchemaSpec(SHIFT_CLOSED, parse_shift_closed),
    SALE_REFUNDED_SCHEMA: SchemaSpec(SALE_REFUNDED, parse_sale_refunded),
}
