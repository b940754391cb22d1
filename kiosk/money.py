"""Money: integer minor units of an ISO 4217 currency, Decimal maths, explicit rounding.

Pure core, called from any thread. A float never becomes money: every constructor refuses it.

``Money(1290, "CNY")`` is 12.90 yuan. Arithmetic between two amounts needs the same currency.
Multiplying by a quantity or a rate goes through ``Decimal`` and a named rounding mode, so the
place where a fraction of a minor unit is dropped is always visible in the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Final

from kiosk.errors import MoneyError

# ISO 4217 minor-unit exponents for the currencies the kiosk is configured with.
CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    "CNY": 2,
    "HKD": 2,
    "TWD": 2,
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "CAD": 2,
    "AUD": 2,
    "SGD": 2,
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "KWD": 3,
    "BHD": 3,
}

# Named rounding modes accepted in configuration.
ROUNDING_MODES: Final[dict[str, str]] = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
}


def exponent(currency: str) -> int:
    """Minor-unit exponent of ``currency`` (2 for CNY, 0 for JPY, 3 for KWD)."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise MoneyError(
            f"unknown currency {currency!r}; known: {', '.join(sorted(CURRENCY_EXPONENTS))}"
        ) from None


def rounding_mode(name: str) -> str:
    """The ``decimal`` rounding constant for a configured mode name."""
    try:
        return ROUNDING_MODES[name]
    except KeyError:
        raise MoneyError(
            f"unknown rounding mode {name!r}; use one of {', '.join(sorted(ROUNDING_MODES))}"
        ) from None


def _require_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MoneyError(f"{what} must be an int of minor units, got {type(value).__name__}")
    return value


@dataclass(frozen=True, order=False, slots=True)
class Money:
    """An amount in integer minor units of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        _require_int(self.minor, "Money.minor")
        exponent(self.currency)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal | str, currency: str, rounding: str = "half_up") -> Money:
        """Major units (``Decimal("12.90")`` or ``"12.90"``) to minor units, rounded explicitly."""
        given: object = value
        if isinstance(given, float):
            raise MoneyError("a float is never money: pass a Decimal or a string")
        try:
            dec = Decimal(value)
        except ArithmeticError:
            raise MoneyError(f"not an amount: {value!r}") from None
        if not dec.is_finite():
            raise MoneyError(f"not a finite amount: {value!r}")
        scaled = dec.scaleb(exponent(currency)).quantize(
            Decimal(1), rounding=rounding_mode(rounding)
        )
        return cls(int(scaled), currency)

    # -- views --------------------------------------------------------------------------------
    def to_decimal(self) -> Decimal:
        """The amount in major units as an exact Decimal (``Decimal("12.90")``)."""
        exp = exponent(self.currency)
        return Decimal(self.minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))

    def format_plain(self) -> str:
        """``12.90`` / ``-3.00`` / ``1200`` (JPY): no symbol, no grouping; for receipts and logs."""
        return str(self.to_decimal())

    def __str__(self) -> str:
        return f"{self.format_plain()} {self.currency}"

    # -- arithmetic ---------------------------------------------------------------------------
    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise MoneyError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"currency mismatch: {self.currency} and {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._check(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._check(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._check(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._check(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._check(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._check(other).minor

    def is_zero(self) -> bool:
        return self.minor == 0

    def times(self, factor: Decimal | int, rounding: str = "half_up") -> Money:
        """Multiply by a quantity or rate (``Decimal``), rounding to a whole minor unit."""
        given: object = factor
        if isinstance(given, float):
            raise MoneyError("a float is never a quantity or rate: pass a Decimal")
        product = (Decimal(self.minor) * Decimal(factor)).quantize(
            Decimal(1), rounding=rounding_mode(rounding)
        )
        return Money(int(product), self.currency)


def sum_money(amounts: list[Money] | tuple[Money, ...], currency: str) -> Money:
    """Sum a sequence of amounts of ``currency`` (zero for an empty sequence)."""
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total


def round_to_increment(minor: int, increment: int, rounding: str = "half_up") -> int:
    """Round ``minor`` to a multiple of ``increment`` minor units (cash rounding: 10 for 0.10 CNY,
    5 for 0.05 CHF). ``increment`` 1 returns ``minor`` unchanged."""
    _require_int(minor, "amount")
    if increment < 1:
        raise MoneyError(f"rounding increment must be at least 1 minor unit, got {increment}")
    steps = (Decimal(minor) / Decimal(increment)).quantize(
        Decimal(1), rounding=rounding_mode(rounding)
    )
    return int(steps) * increment
