"""The basket in progress: lines, their adjustments and basket-level adjustments. Pure core.

The basket is plain data. ``kiosk.pricing.price_basket`` turns it into totals and tax; the lane
(``kiosk.checkout``) changes it in response to commands and persists ``to_dict()`` after every
change so a crash or power cut restores it with ``Basket.from_dict``.

Every change of price is an ``Adjustment`` with a reason and a source id (a staff id, a promotion
id), never an edit of ``unit_price``, so the receipt and the sale event can explain it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

from kiosk.catalog import Product, Unit

AdjustmentKind = Literal["discount", "price_override", "promotion", "coupon"]


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A change to a line's (or the basket's) amount: negative is a discount.

    ``reason`` is a reason code or text ("damaged packaging"); ``source`` names who or what made
    it: a staff id for manual adjustments, a promotion id for the promotion engine.
    """

    amount: int
    kind: AdjustmentKind
    reason: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "kind": self.kind,
            "reason": self.reason,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Adjustment:
        return cls(int(data["amount"]), data["kind"], str(data["reason"]), str(data["source"]))


@dataclass(frozen=True, slots=True)
class Line:
    """One basket line.

    ``qty`` is a count for ``ea`` and kilograms for ``kg``. ``fixed_amount`` is set when the
    barcode carried the price (GS1 variable measure, AI 392x): the line's gross amount is then
    exactly that, whatever ``unit_price`` × ``qty`` gives.
    """

    line_no: int
    sku: str
    names: Mapping[str, str]
    unit: Unit
    qty: Decimal
    unit_price: int
    tax_code: str
    gtin: str | None = None
    fixed_amount: int | None = None
    age_limit: int = 0
    adjustments: tuple[Adjustment, ...] = ()
    voided: bool = False
    batch: str | None = None
    expiry: str | None = None  # ISO date from GS1 AI 17

    def name(self, language: str) -> str:
        for lang in (language, "en"):
            if self.names.get(lang):
                return self.names[lang]
        return next((v for v in self.names.values() if v), self.sku)

    def with_qty(self, qty: Decimal) -> Line:
        return replace(self, qty=qty)

    def with_adjustment(self, adjustment: Adjustment) -> Line:
        return replace(self, adjustments=(*self.adjustments, adjustment))

    def to_dict(self) -> dict[str, Any]:
        return {
            "line_no": self.line_no,
            "sku": self.sku,
            "names": dict(self.names),
            "unit": self.unit,
            "qty": str(self.qty),
            "unit_price": self.unit_price,
            "tax_code": self.tax_code,
            "gtin": self.gtin,
            "fixed_amount": self.fixed_amount,
            "age_limit": self.age_limit,
            "adjustments": [a.to_dict() for a in self.adjustments],
            "voided": self.voided,
            "batch": self.batch,
            "expiry": self.expiry,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Line:
        return cls(
            line_no=int(data["line_no"]),
            sku=str(data["sku"]),
            names=dict(data["names"]),
            unit=data["unit"],
            qty=Decimal(data["qty"]),
            unit_price=int(data["unit_price"]),
            tax_code=str(data["tax_code"]),
            gtin=data.get("gtin"),
            fixed_amount=data.get("fixed_amount"),
            age_limit=int(data.get("age_limit", 0)),
            adjustments=tuple(Adjustment.from_dict(a) for a in data.get("adjustments", ())),
            voided=bool(data.get("voided", False)),
            batch=data.get("batch"),
            expiry=data.get("expiry"),
        )

    @classmethod
    def for_product(
        cls,
        line_no: int,
        product: Product,
        qty: Decimal,
        gtin: str | None = None,
        fixed_amount: int | None = None,
        batch: str | None = None,
        expiry: str | None = None,
    ) -> Line:
        return cls(
            line_no=line_no,
            sku=product.sku,
            names=dict(product.names),
            unit=product.unit,
            qty=qty,
            unit_price=product.price,
            tax_code=product.tax_code,
            gtin=gtin,
            fixed_amount=fixed_amount,
            age_limit=product.age_limit,
            batch=batch,
            expiry=expiry,
        )


def order_key(line: Line, adjusted: object) -> tuple[object, ...]:
    """``line``'s place in an order of what it is (SKU, unit, price, quantity, fixed amount,
    tax code, then ``adjusted``: a summary of its own adjustments), not of when it was scanned;
    the line number only breaks ties between lines that are otherwise the same. The promotions
    engine and pricing spread amounts over lines in this order, so scanning the same items in
    another order changes no line's figures."""
    fixed = -1 if line.fixed_amount is None else line.fixed_amount
    return (
        line.sku,
        line.unit,
        line.unit_price,
        line.qty,
        fixed,
        line.tax_code,
        adjusted,
        line.line_no,
    )


@dataclass(slots=True)
class Basket:
    """Lines in scan order plus basket-level adjustments. Voided lines stay, marked ``voided``,
    so the audit trail and the receipt can show them."""

    lines: list[Line] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)

    def active_lines(self) -> list[Line]:
        return [line for line in self.lines if not line.voided]

    def next_line_no(self) -> int:
        return max((line.line_no for line in self.lines), default=0) + 1

    def find(self, line_no: int) -> Line | None:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        return None

    def replace_line(self, new: Line) -> None:
        for i, line in enumerate(self.lines):
            if line.line_no == new.line_no:
                self.lines[i] = new
                return
        raise KeyError(new.line_no)

    def quantity_of(self, sku: str) -> Decimal:
        """Total quantity of ``sku`` over active lines (for quantity limits)."""
        return sum((line.qty for line in self.active_lines() if line.sku == sku), Decimal(0))

    def is_empty(self) -> bool:
        return not self.active_lines()

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": [line.to_dict() for line in self.lines],
            "adjustments": [a.to_dict() for a in self.adjustments],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Basket:
        return cls(
            lines=[Line.from_dict(d) for d in data.get("lines", ())],
            adjustments=[Adjustment.from_dict(d) for d in data.get("adjustments", ())],
        )
