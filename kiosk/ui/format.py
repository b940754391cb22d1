"""Money, numbers, quantities and dates formatted for the customer's or attendant's locale (Babel).

Amounts arrive as integer minor units with their ISO 4217 currency (the lane view); they are
turned into a ``Decimal`` by the currency's exponent, never through a float. No Kivy here:
presenters and their unit tests use it. Called on the Kivy thread.
"""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal

from kiosk.money import exponent

logger = logging.getLogger(__name__)


@lru_cache(maxsize=16)
def locale_of(lang: str) -> Locale:
    """The Babel locale of a kiosk language code (``zh_CN``, ``en``, ``ja``)."""
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(f"{lang!r} is not a locale Babel knows: {exc}") from exc


def to_decimal(minor: int, currency: str) -> Decimal:
    """``minor`` units of ``currency`` as a Decimal of major units (``1250 CNY`` -> 12.50)."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"an amount is whole minor units, got {minor!r}")
    places = exponent(currency)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def money(minor: int, currency: str, lang: str) -> str:
    """``¥12.50`` / ``￥12.50`` as the locale writes the currency."""
    return format_currency(to_decimal(minor, currency), currency, locale=locale_of(lang))


def number(value: int | Decimal, lang: str) -> str:
    """A plain number with the locale's separators (``1,234.5``)."""
    return format_decimal(value, locale=locale_of(lang))


def qty(value: str | Decimal, unit: str, lang: str) -> str:
    """A basket quantity from the view (a decimal string): ``3`` each, ``0.512 kg`` by weight."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"quantity {value!r} is not a decimal number") from None
    if unit == "kg":
        return f"{format_decimal(amount, format='0.000', locale=locale_of(lang))} kg"
    return format_decimal(amount, locale=locale_of(lang))


def date_time(moment: datetime, tz: tzinfo, lang: str) -> str:
    """A date and time in the store's time zone, medium length for the locale."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no time zone; pass an aware one")
    return format_datetime(moment.astimezone(tz), format="medium", locale=locale_of(lang))
