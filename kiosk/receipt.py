"""The receipt as pure data, built from a committed sale.

Pure core, called from the lane thread once a sale has committed (``build_receipt``). The
plain-text rendering for 32, 42 and 48 column printers is ``kiosk.receipt_text.render_text``,
re-exported here with the receipt labels so ``from kiosk.receipt import render_text`` works.

A card shows only its last four digits (``****4242``); nothing else of a card number is kept.
A member shows with the masked phone number (``138****0001``), never the number itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from kiosk.basket import Adjustment, Line
from kiosk.config import ReceiptConfig, StoreConfig
from kiosk.errors import LaneError
from kiosk.receipt_text import LABELS, label, render_text
from kiosk.sale import CompletedSale, SaleRecord

__all__ = [
    "LABELS",
    "Receipt",
    "ReceiptAdjustment",
    "ReceiptLine",
    "ReceiptMember",
    "ReceiptTax",
    "ReceiptTender",
    "ReceiptTotals",
    "build_receipt",
    "label",
    "render_text",
]


@dataclass(frozen=True, slots=True)
class ReceiptAdjustment:
    """A printed adjustment row: ``label`` (already translated) and ``amount`` (< 0: discount)."""

    label: str
    amount: int


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """A sold line. ``qty_text`` is ``"2"`` or ``"0.735 kg"``; ``price_embedded`` is true when
    the barcode carried the price, so ``gross`` is not ``unit_price × qty``."""

    name: str
    qty_text: str
    unit: str
    unit_price: int
    gross: int
    adjustments: tuple[ReceiptAdjustment, ...]
    tax_code: str
    price_embedded: bool = False


@dataclass(frozen=True, slots=True)
class ReceiptTax:
    """One row of the tax breakdown: ``rate_text`` like ``"13%"``, ``base`` without tax."""

    code: str
    rate_text: str
    base: int
    tax: int


@dataclass(frozen=True, slots=True)
class ReceiptTotals:
    """``due`` is what the customer paid: ``gross + discount (+ tax if exclusive) + rounding``."""

    gross: int
    discount: int
    tax: int
    tax_included: bool
    rounding: int
    due: int


@dataclass(frozen=True, slots=True)
class ReceiptTender:
    """A payment. ``ref`` is masked (``"****4242"``) or ``None``; never a full number."""

    type: str
    amount: int
    tendered: int = 0
    change: int = 0
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiptMember:
    """The member's lines: points earned and redeemed, stored value used and, when the kiosk
    keeps member accounts, the balances after the sale. ``phone`` is masked."""

    member_id: str
    level: str
    phone: str
    points_earned: int
    points_redeemed: int
    stored_value_used: int
    points_balance: int | None = None
    stored_value_balance: int | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """Everything printed on a receipt, as data. ``barcode`` is ``"R" + receipt_no``.
    ``reprint`` marks a copy printed again on an attendant's request ("REPRINT / 重印" on top)."""

    store_name: str
    address: tuple[str, ...]
    header: tuple[str, ...]
    kiosk_id: str
    receipt_no: str
    seq: int
    occurred_at: str  # local display time, e.g. "2026-11-27 17:15"
    business_day: str
    language: str
    currency: str
    lines: tuple[ReceiptLine, ...]
    basket_adjustments: tuple[ReceiptAdjustment, ...]
    taxes: tuple[ReceiptTax, ...]
    totals: ReceiptTotals
    tenders: tuple[ReceiptTender, ...]
    change: int
    member_id: str | None
    barcode: str
    footer: tuple[str, ...]
    reprint: bool = False
    member: ReceiptMember | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_reprint(self) -> Receipt:
        """The same receipt marked as a reprint."""
        return replace(self, reprint=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Receipt:
        def adjustments(rows: Sequence[Mapping[str, Any]]) -> tuple[ReceiptAdjustment, ...]:
            return tuple(ReceiptAdjustment(**row) for row in rows)

        lines = tuple(
            ReceiptLine(**{**row, "adjustments": adjustments(row["adjustments"])})
            for row in data["lines"]
        )
        return cls(
            **{
                **data,
                "address": tuple(data["address"]),
                "header": tuple(data["header"]),
                "footer": tuple(data["footer"]),
                "lines": lines,
                "basket_adjustments": adjustments(data["basket_adjustments"]),
                "taxes": tuple(ReceiptTax(**row) for row in data["taxes"]),
                "totals": ReceiptTotals(**data["totals"]),
                "tenders": tuple(ReceiptTender(**row) for row in data["tenders"]),
                "member": ReceiptMember(**data["member"]) if data.get("member") else None,
            }
        )


def _adjustment_row(adjustment: Adjustment, language: str) -> ReceiptAdjustment:
    kind = label(adjustment.kind, language)
    reason = adjustment.reason.strip()
    return ReceiptAdjustment(f"{kind}: {reason}" if reason else kind, adjustment.amount)


def _rate_text(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _masked(last4: str | None) -> str | None:
    digits = "".join(ch for ch in (last4 or "") if ch.isdigit())[-4:]
    return f"****{digits}" if digits else None


def _qty_text(line: Line) -> str:
    if line.unit == "kg":
        return f"{line.qty:f} kg"
    return f"{line.qty.to_integral_value():f}"


def build_receipt(
    sale: CompletedSale,
    record: SaleRecord,
    store: StoreConfig,
    receipt_cfg: ReceiptConfig,
    local_time: str,
    *,
    basket_adjustments: Sequence[Adjustment] = (),
) -> Receipt:
    """The receipt of a committed sale, in ``receipt_cfg.language`` or else the sale's language.

    ``basket_adjustments`` (the basket's own list, optional) gives the basket-level rows their
    labels; without it they print as one "Basket discount" row. Either way the rows add up to the
    sale's total discount: a cap that kept the basket from going below zero is its own row.
    Raises ``LaneError`` when a sale line has no priced line in the sale's totals.
    """
    language = receipt_cfg.language or sale.language
    priced = {p.line_no: p for p in sale.totals.lines}
    lines: list[ReceiptLine] = []
    own_total = 0
    for line in sale.lines:
        p = priced.get(line.line_no)
        if p is None:
            raise LaneError(f"sale {sale.sale_id}: line {line.line_no} has no priced line")
        own_total += sum(a.amount for a in line.adjustments)
        lines.append(
            ReceiptLine(
                name=line.name(language),
                qty_text=_qty_text(line),
                unit=line.unit,
                unit_price=line.unit_price,
                gross=p.gross,
                adjustments=tuple(_adjustment_row(a, language) for a in line.adjustments),
                tax_code=line.tax_code,
                price_embedded=line.fixed_amount is not None,
            )
        )
    basket_total = sale.totals.discount - own_total
    rows = [_adjustment_row(a, language) for a in basket_adjustments]
    if not rows and basket_total:
        rows.append(ReceiptAdjustment(label("basket_discount", language), basket_total))
    elif sum(r.amount for r in rows) != basket_total:
        rows.append(
            ReceiptAdjustment(
                label("discount_limit", language), basket_total - sum(r.amount for r in rows)
            )
        )
    totals = sale.totals
    return Receipt(
        store_name=store.name,
        address=tuple(store.address),
        header=tuple(receipt_cfg.header),
        kiosk_id=sale.kiosk_id,
        receipt_no=record.receipt_no,
        seq=record.seq,
        occurred_at=local_time,
        business_day=sale.business_day,
        language=language,
        currency=sale.currency,
        lines=tuple(lines),
        basket_adjustments=tuple(rows),
        taxes=tuple(ReceiptTax(t.code, _rate_text(t.rate), t.base, t.tax) for t in totals.taxes),
        totals=ReceiptTotals(
            gross=totals.gross,
            discount=totals.discount,
            tax=totals.tax,
            tax_included=totals.tax_mode == "inclusive",
            rounding=sale.cash_rounding,
            due=totals.due + sale.cash_rounding,
        ),
        tenders=tuple(
            ReceiptTender(t.type, t.amount, t.tendered, t.change, _masked(t.last4))
            for t in sale.tenders
        ),
        change=sale.change,
        member_id=sale.member_id,
        barcode=f"R{record.receipt_no}",
        footer=tuple(receipt_cfg.footer),
        member=_member(sale),
    )


def _member(sale: CompletedSale) -> ReceiptMember | None:
    activity = sale.loyalty
    if activity is None:
        return None
    return ReceiptMember(
        member_id=activity.member_id,
        level=activity.level,
        phone=activity.masked_phone,
        points_earned=activity.points_earned,
        points_redeemed=activity.points_redeemed,
        stored_value_used=activity.stored_value_used,
        points_balance=activity.points_balance,
        stored_value_balance=activity.stored_value_balance,
    )
