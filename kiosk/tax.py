"""Tax maths on integer minor units: inclusive (VAT) and exclusive (sales tax), and allocation.

Pure core, called from the lane thread (through ``kiosk.pricing``) and from tests.

Inclusive mode (VAT/GST: China 13 / 9 / 6 %, the EU, Japan): shelf prices contain the tax, and
the tax in an amount ``A`` at rate ``r`` is ``A × r / (1 + r)``. Exclusive mode (US sales tax):
shelf prices are without tax and the tax is ``A × r``, added on top. Either way the exact
Decimal result is rounded once, to a whole minor unit, with the store's configured rounding mode.

``allocate`` splits a whole number of minor units over weights (largest-remainder method). It
spreads a tax computed on a total back over the lines, and a basket-level discount over lines,
so that the parts always add up to exactly the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext
from functools import lru_cache
from typing import Literal

from kiosk.config import TaxConfig
from kiosk.errors import CatalogError, MoneyError
from kiosk.money import rounding_mode

TaxMode = Literal["inclusive", "exclusive"]

# Enough digits that the quotient A × r / (1 + r) is exact to far below one minor unit before
# it is rounded, for any amount a till can see (|A| < 10**30).
_PRECISION = 60


def _require_rate(rate: Decimal) -> Decimal:
    if not isinstance(rate, Decimal):
        raise MoneyError(f"a tax rate must be a Decimal, got {type(rate).__name__}")
    if not rate.is_finite() or rate < 0:
        raise MoneyError(f"a tax rate must be a finite fraction of at least 0, got {rate}")
    return rate


def _require_amount(amount: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise MoneyError(f"an amount must be an int of minor units, got {type(amount).__name__}")
    return amount


def inclusive_tax(amount: int, rate: Decimal, rounding: str = "half_up") -> int:
    """The tax contained in ``amount`` (tax included): ``amount × rate / (1 + rate)``, rounded.

    ``inclusive_tax(2280, Decimal("0.13"))`` is 262 (22.80 CNY contains 2.62 of 13 % VAT).
    """
    _require_amount(amount)
    _require_rate(rate)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        exact = Decimal(amount) * rate / (Decimal(1) + rate)
        return int(exact.quantize(Decimal(1), rounding=rounding_mode(rounding)))


def exclusive_tax(amount: int, rate: Decimal, rounding: str = "half_up") -> int:
    """The tax to add on top of ``amount`` (tax excluded): ``amount × rate``, rounded.

    ``exclusive_tax(2047, Decimal("0.08875"))`` is 182 (8.875 % on 20.47 USD is 1.8167...).
    """
    _require_amount(amount)
    _require_rate(rate)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        exact = Decimal(amount) * rate
        return int(exact.quantize(Decimal(1), rounding=rounding_mode(rounding)))


@lru_cache(maxsize=4096, typed=True)
def tax_on(amount: int, rate: Decimal, mode: TaxMode, rounding: str = "half_up") -> int:
    """The tax of ``amount`` at ``rate`` in ``mode`` (``inclusive`` or ``exclusive``).

    Results are kept (the lane prices the whole basket after every command, each line's tax
    again); ``typed`` keeps ``True`` from being taken for 1, and errors are never kept."""
    if mode == "inclusive":
        return inclusive_tax(amount, rate, rounding)
    if mode == "exclusive":
        return exclusive_tax(amount, rate, rounding)
    raise MoneyError(f"unknown tax mode {mode!r}; use inclusive or exclusive")


def base_of(amount: int, tax: int, mode: TaxMode) -> int:
    """The amount without tax: ``amount - tax`` when tax is included, ``amount`` otherwise."""
    return amount - tax if mode == "inclusive" else amount


def rate_for(config: TaxConfig, code: str, sku: str = "") -> Decimal:
    """The rate of tax ``code`` in the store config.

    Raises ``CatalogError`` naming the product and the code when the store config does not
    define it: the catalog and the config disagree, and selling at a guessed rate is worse
    than refusing the item.
    """
    try:
        return config.codes[code]
    except KeyError:
        who = f"product {sku}" if sku else "a product"
        known = ", ".join(sorted(config.codes)) or "none"
        raise CatalogError(
            f"{who} has tax code {code!r} that the store config does not define "
            f"(tax.codes has: {known})"
        ) from None


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` minor units over ``weights`` in proportion, summing exactly to ``total``.

    Largest-remainder method: each part is first rounded toward zero, then the units still
    missing go one each to the parts with the largest remainders, ties to the earlier part.
    So every part is within one unit of its exact share, a zero weight gets 0 (unless every
    weight is 0), and the result depends only on the arguments. A negative ``total`` is split
    like its absolute value and negated: ``allocate(-t, w) == [-p for p in allocate(t, w)]``.

    When every weight is 0 (and there is at least one), ``total`` is split evenly.
    Raises ``MoneyError`` for a negative weight, a non-int, or a non-zero total and no weights.
    """
    _require_amount(total)
    for i, weight in enumerate(weights):
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise MoneyError(f"weight {i} must be an int, got {type(weight).__name__}")
        if weight < 0:
            raise MoneyError(f"weight {i} is {weight}; weights must be 0 or more")
    if not weights:
        if total != 0:
            raise MoneyError(f"cannot allocate {total} over no parts")
        return []
    if total < 0:
        return [-part for part in allocate(-total, weights)]
    effective = list(weights) if any(weights) else [1] * len(weights)
    whole = sum(effective)
    parts: list[int] = []
    remainders: list[tuple[int, int]] = []
    for i, weight in enumerate(effective):
        share, rest = divmod(total * weight, whole)
        parts.append(share)
        remainders.append((-rest, i))
    missing = total - sum(parts)
    for _, i in sorted(remainders)[:missing]:
        parts[i] += 1
    return parts
