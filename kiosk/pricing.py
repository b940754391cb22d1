"""Pricing: basket -> per-line amounts, tax and totals; cash rounding. Pure core.

Called from the lane thread after every basket change. The data types below are the contract
used by the lane, the store, the receipt and the sale event; ``price_basket`` and ``cash_due``
follow them. docs/pricing.md explains the rules with worked examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from kiosk.basket import Basket, Line, order_key
from kiosk.config import CashConfig, TaxConfig
from kiosk.errors import InvalidCommand, LaneError, MoneyError
from kiosk.money import Money, exponent, round_to_increment
from kiosk.tax import allocate, base_of, rate_for, tax_on


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A basket line after pricing, all in minor units.

    ``gross``: unit price × quantity (or the barcode's fixed amount), before adjustments.
    ``discount``: the line's own adjustments plus its share of basket-level adjustments
    (negative for a discount). ``amount`` = ``gross`` + ``discount``: what the line costs the
    customer (tax included in inclusive mode, excluded in exclusive mode). ``tax``: the line's
    tax (its allocated share when tax is rounded per total).
    """

    line_no: int
    tax_code: str
    gross: int
    discount: int
    amount: int
    tax: int


@dataclass(frozen=True, slots=True)
class TaxLine:
    """Tax for one tax code: ``base`` is the amount without tax, ``tax`` the tax on it."""

    code: str
    rate: Decimal
    base: int
    tax: int


@dataclass(frozen=True, slots=True)
class Totals:
    """Basket totals in minor units.

    ``gross`` = Σ line gross; ``discount`` = Σ line discounts (basket adjustments included,
    allocated to lines); ``tax`` = Σ line tax = Σ tax lines; ``due`` = what the customer owes
    before cash rounding: Σ amount (inclusive) or Σ amount + tax (exclusive).
    """

    currency: str
    tax_mode: str
    lines: tuple[PricedLine, ...]
    taxes: tuple[TaxLine, ...]
    gross: int
    discount: int
    tax: int
    due: int
    item_count: int


# ---------------------------------------------------------------------------------------------
# Pricing


@dataclass(frozen=True, slots=True)
class _Work:
    """One active line on its way through pricing."""

    line: Line
    rate: Decimal
    gross: int
    own: int  # Σ the line's own adjustments


def _check_qty(line: Line) -> None:
    qty = line.qty
    if not isinstance(qty, Decimal):  # a float (or anything else) is never a quantity
        raise MoneyError(
            f"line {line.line_no}: quantity must be a Decimal, got {type(qty).__name__}"
        )
    if not qty.is_finite() or qty < 0:
        raise InvalidCommand(f"line {line.line_no}: quantity {qty} must be 0 or more")
    if line.unit == "ea" and qty != qty.to_integral_value():
        raise InvalidCommand(
            f"line {line.line_no}: quantity {qty} of an item sold each must be a whole number"
        )


def line_gross(line: Line, currency: str, rounding: str = "half_up") -> int:
    """A line's gross amount: the barcode's fixed amount when it carried one, otherwise
    ``unit_price × qty`` rounded to a minor unit with ``rounding`` (``0.735 kg × 1580``
    is 1161.3, so 1161)."""
    _check_qty(line)
    if line.fixed_amount is not None:
        return Money(line.fixed_amount, currency).minor
    return _times(line.unit_price, line.qty, currency, rounding)


@lru_cache(maxsize=4096, typed=True)
def _times(unit_price: int, qty: Decimal, currency: str, rounding: str) -> int:
    """``unit_price × qty`` in minor units. Kept for the lines priced last time: the lane
    prices the whole basket after every command, so a 200-line basket would otherwise redo 200
    Decimal products per scan. ``typed``: ``True`` is not taken for 1. Errors are not kept."""
    return Money(unit_price, currency).times(qty, rounding).minor


def _work_lines(basket: Basket, tax: TaxConfig, currency: str) -> list[_Work]:
    active = sorted(basket.active_lines(), key=lambda line: line.line_no)
    seen: set[int] = set()
    work: list[_Work] = []
    for line in active:
        if line.line_no in seen:
            raise LaneError(f"basket has line number {line.line_no} twice")
        seen.add(line.line_no)
        rate = rate_for(tax, line.tax_code, line.sku)
        gross = line_gross(line, currency, tax.rounding_mode)
        own = sum(Money(a.amount, currency).minor for a in line.adjustments)
        work.append(_Work(line, rate, gross, own))
    return work


def _amounts(work: list[_Work], basket_adjustment: int) -> list[int]:
    """Each line's amount after its own adjustments and its share of the basket-level ones.

    A line whose own adjustments take it below 0 stays at 0, and the rest joins the
    basket-level pool. The pool is spread over the lines in proportion to what each line
    still costs, so no line goes below 0. A pool that would take the whole basket below 0 is
    capped at the basket's amount (everything free, nothing owed back).
    """
    if not work:
        return []
    weights = [max(w.gross + w.own, 0) for w in work]
    pool = basket_adjustment + sum(min(w.gross + w.own, 0) for w in work)
    pool = max(pool, -sum(weights))
    # ``allocate`` gives a unit it must round to the earlier of two equal remainders: spread
    # the pool in an order of what the lines are, not of when they were scanned, so scanning
    # the same items in another order never moves a fen from one line to another.
    order = sorted(range(len(work)), key=lambda i: order_key(work[i].line, work[i].own))
    shares = [0] * len(work)
    for i, share in zip(order, allocate(pool, [weights[i] for i in order]), strict=True):
        shares[i] = share
    return [weight + share for weight, share in zip(weights, shares, strict=True)]


def _line_taxes(work: list[_Work], amounts: list[int], tax: TaxConfig) -> list[int]:
    if tax.rounding == "per_line":
        return [
            tax_on(amount, w.rate, tax.mode, tax.rounding_mode)
            for w, amount in zip(work, amounts, strict=True)
        ]
    taxes = [0] * len(work)
    for code in {w.line.tax_code for w in work}:
        idx = [i for i, w in enumerate(work) if w.line.tax_code == code]
        code_amount = sum(amounts[i] for i in idx)
        code_tax = tax_on(code_amount, work[idx[0]].rate, tax.mode, tax.rounding_mode)
        for i, part in zip(idx, allocate(code_tax, [amounts[i] for i in idx]), strict=True):
            taxes[i] = part
    return taxes


def _item_count(work: list[_Work]) -> int:
    return sum(int(w.line.qty) if w.line.unit == "ea" else 1 for w in work)


def price_basket(basket: Basket, tax: TaxConfig, currency: str) -> Totals:
    """Price the basket's active lines: gross, adjustments, tax per line and per code, totals.

    See docs/pricing.md for the rules and worked examples. Raises ``CatalogError`` when a line
    has a tax code the store config does not define, ``MoneyError`` for an unknown currency or
    a float quantity, ``InvalidCommand`` for a negative or (for ``ea``) fractional quantity.
    """
    exponent(currency)
    work = _work_lines(basket, tax, currency)
    basket_adjustment = sum(Money(a.amount, currency).minor for a in basket.adjustments)
    amounts = _amounts(work, basket_adjustment)
    taxes = _line_taxes(work, amounts, tax)
    priced = {
        w.line.line_no: PricedLine(
            line_no=w.line.line_no,
            tax_code=w.line.tax_code,
            gross=w.gross,
            discount=amount - w.gross,
            amount=amount,
            tax=line_tax,
        )
        for w, amount, line_tax in zip(work, amounts, taxes, strict=True)
    }
    lines = tuple(priced[line.line_no] for line in basket.active_lines())
    tax_lines = []
    for code in sorted({w.line.tax_code for w in work}):
        code_amount = sum(p.amount for p in lines if p.tax_code == code)
        code_tax = sum(p.tax for p in lines if p.tax_code == code)
        tax_lines.append(
            TaxLine(code, tax.codes[code], base_of(code_amount, code_tax, tax.mode), code_tax)
        )
    total_amount = sum(p.amount for p in lines)
    total_tax = sum(p.tax for p in lines)
    return Totals(
        currency=currency,
        tax_mode=tax.mode,
        lines=lines,
        taxes=tuple(tax_lines),
        gross=sum(p.gross for p in lines),
        discount=sum(p.discount for p in lines),
        tax=total_tax,
        due=total_amount + (total_tax if tax.mode == "exclusive" else 0),
        item_count=_item_count(work),
    )


def cash_due(due: int, cash: CashConfig) -> tuple[int, int]:
    """What a cash payer pays and the cash-rounding delta: ``(payable, payable - due)``.

    With ``rounding_increment`` 10 (0.10 CNY), 1694 gives ``(1690, -4)`` and 1695 gives
    ``(1700, 5)``. The delta is printed as its own receipt line ("Rounding").
    """
    payable = round_to_increment(due, cash.rounding_increment, cash.rounding_mode)
    return payable, payable - due
