"""The basket as the promotion engine sees it: items in canonical order, and unit arithmetic.

Pure core, lane thread. Each active line becomes an ``Item``:

- a line of whole items sold each at the shelf price (``unit == "ea"``, no barcode price) is
  ``count`` identical units of ``unit`` minor units: it can join multi-buy groups;
- any other line (weighed, or priced by its barcode) is one unit worth its gross amount, with
  its quantity kept for rules priced per kilogram; it takes item rules but no multi-buy;
- a line with a manual ``price_override`` takes no item rule (the attendant set its price), but
  its amount counts towards spend thresholds.

Items are sorted by everything that can change a figure (SKU first) and the line number last,
so two lines that differ only by line number are interchangeable and the scanning order never
changes a total. Percentages and quantities are exact integer fractions; a fraction of a minor
unit is rounded once with the configured mode (``half_up`` or ``half_even``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from kiosk.basket import Basket, Line, order_key
from kiosk.errors import LaneError
from kiosk.money import Money
from kiosk.pricing import line_gross
from kiosk.promotions.rules import AmountOff, FixedPrice, Offer, PercentOff

PROMOTION_KINDS = frozenset({"promotion", "coupon"})


@dataclass(slots=True)
class Item:
    """One active basket line, ready for the engine. ``pos`` is its canonical position.
    (Not frozen only because frozen instances are slower to build; nothing changes one.)"""

    pos: int
    line_no: int
    sku: str
    category: str
    gross: int
    manual: int  # Σ manual (non-promotion) adjustments of the line
    takes_item_rules: bool
    groupable: bool
    count: int  # units: the quantity of a groupable line, else 1
    unit: int  # minor units per unit: the shelf price, else the gross
    qty: tuple[int, int]  # quantity as a fraction, for per-kg rules on a non-groupable line
    start: int  # what the line costs before promotions: gross + manual, never below 0


def round_div(numerator: int, denominator: int, mode: str) -> int:
    """``numerator / denominator`` (both ≥ 0, denominator > 0) rounded to an integer."""
    whole, rest = divmod(numerator, denominator)
    twice = 2 * rest
    if twice > denominator or (twice == denominator and (mode == "half_up" or whole % 2 == 1)):
        return whole + 1
    return whole


def unit_saving(offer: Offer, item: Item, amount: int, mode: str) -> int:
    """What an item rule takes off one unit of ``item`` that currently costs ``amount``."""
    if isinstance(offer, PercentOff):
        num, den = offer.ratio
        return min(round_div(amount * num, den, mode), amount)
    if isinstance(offer, AmountOff):
        off = offer.amount if item.groupable else per_qty(offer.amount, item, mode)
        return min(off, amount)
    if isinstance(offer, FixedPrice):
        price = offer.price if item.groupable else per_qty(offer.price, item, mode)
        return max(amount - price, 0)
    raise TypeError(f"{type(offer).__name__} is not a per-item offer")


def per_qty(amount: int, item: Item, mode: str) -> int:
    """A per-kilogram amount times the line's quantity, rounded."""
    num, den = item.qty
    return round_div(amount * num, den, mode)


def _manual(line: Line, currency: str) -> tuple[int, bool]:
    total, overridden = 0, False
    for adjustment in line.adjustments:
        if adjustment.kind in PROMOTION_KINDS:
            continue
        total += Money(adjustment.amount, currency).minor
        overridden = overridden or adjustment.kind == "price_override"
    return total, overridden


def _gross(line: Line, groupable: bool, currency: str, rounding: str) -> int:
    """``pricing.line_gross``, with a short cut for whole items at the shelf price (the
    product of two whole numbers needs no rounding)."""
    qty, price = line.qty, line.unit_price
    if (
        groupable
        and type(qty) is Decimal
        and type(price) is int
        and qty.is_finite()
        and qty >= 0
        and qty == qty.to_integral_value()
    ):
        return price * int(qty)
    return line_gross(line, currency, rounding)


def build_items(
    basket: Basket, categories: Mapping[str, str], currency: str, rounding: str
) -> tuple[Item, ...]:
    """The basket's active lines as items in canonical order (previous promotion and coupon
    adjustments are ignored: the engine re-prices from scratch)."""
    keyed = []
    seen: set[int] = set()
    for line in basket.active_lines():
        if line.line_no in seen:
            raise LaneError(f"basket has line number {line.line_no} twice")
        seen.add(line.line_no)
        adjusted = _manual(line, currency)
        keyed.append((order_key(line, adjusted), line, adjusted))
    keyed.sort(key=lambda entry: entry[0])
    items = []
    for pos, (_, line, (manual, overridden)) in enumerate(keyed):
        groupable = line.unit == "ea" and line.fixed_amount is None
        gross = _gross(line, groupable, currency, rounding)
        count = int(line.qty) if groupable else 1
        qty = (1, 1) if groupable else Decimal(line.qty).as_integer_ratio()
        items.append(
            Item(
                pos=pos,
                line_no=line.line_no,
                sku=line.sku,
                category=categories.get(line.sku, ""),
                gross=gross,
                manual=manual,
                takes_item_rules=not overridden and gross > 0,
                groupable=groupable and not overridden and count > 0,
                count=count,
                unit=line.unit_price if groupable else gross,
                qty=qty,
                start=max(gross + manual, 0),
            )
        )
    return tuple(items)
