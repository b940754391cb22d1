"""Typed reads of JSON fields that name the path of whatever is wrong. Pure, any thread.

``need_int(data, "totals.due")``-style helpers raise ``FieldError`` such as ``totals.due must be
an integer of minor units, got 22.8``; ``central.validation`` turns it into a dead-letter reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

MAX_MINOR: Final = 10**15  # |amount| of any money field, in minor units
MAX_COUNT: Final = 10**9
_QTY: Final = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,6})?")
_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class FieldError(ValueError):
    """A field is missing or has the wrong type or value; the message names its path."""


def _path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def need(data: Mapping[str, Any], name: str, where: str = "") -> Any:
    if name not in data:
        raise FieldError(f"{_path(where, name)} is missing")
    return data[name]


def need_str(data: Mapping[str, Any], name: str, where: str = "", max_len: int = 200) -> str:
    value = need(data, name, where)
    if not isinstance(value, str) or not value:
        raise FieldError(f"{_path(where, name)} must be a non-empty string, got {value!r}")
    if len(value) > max_len:
        raise FieldError(f"{_path(where, name)} is longer than {max_len} characters")
    return value


def need_int(
    data: Mapping[str, Any], name: str, where: str = "", low: int = 0, high: int = MAX_COUNT
) -> int:
    value = need(data, name, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"{_path(where, name)} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise FieldError(f"{_path(where, name)} {value} is outside {low}..{high}")
    return value


def need_money(
    data: Mapping[str, Any], name: str, where: str = "", default: int | None = None
) -> int:
    """An integer of minor units (never a float, never a bool), |value| <= MAX_MINOR."""
    if default is not None and name not in data:
        return default
    value = need(data, name, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"{_path(where, name)} must be an integer of minor units, got {value!r}")
    if abs(value) > MAX_MINOR:
        raise FieldError(f"{_path(where, name)} {value} is beyond ±{MAX_MINOR} minor units")
    return value


def need_obj(data: Mapping[str, Any], name: str, where: str = "") -> Mapping[str, Any]:
    value = need(data, name, where)
    if not isinstance(value, Mapping):
        raise FieldError(f"{_path(where, name)} must be an object")
    return value


def need_list(
    data: Mapping[str, Any], name: str, where: str = "", max_len: int = 10_000
) -> list[Any]:
    value = need(data, name, where)
    if not isinstance(value, list):
        raise FieldError(f"{_path(where, name)} must be a list")
    if len(value) > max_len:
        raise FieldError(f"{_path(where, name)} has more than {max_len} entries")
    return value


def objects(items: list[Any], where: str) -> list[Mapping[str, Any]]:
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise FieldError(f"{where}[{i}] must be an object")
    return items


def need_qty(data: Mapping[str, Any], name: str, where: str = "") -> Decimal:
    """A quantity as a decimal string (``"2"``, ``"0.512"``): never a number, at most 6 places."""
    value = need(data, name, where)
    if not isinstance(value, str) or not _QTY.fullmatch(value):
        raise FieldError(
            f'{_path(where, name)} must be a decimal string like "0.512", got {value!r}'
        )
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise FieldError(f"{_path(where, name)} is not a decimal: {value!r}") from None


def need_day(data: Mapping[str, Any], name: str, where: str = "") -> str:
    value = need_str(data, name, where, 10)
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise FieldError(f"{_path(where, name)} must be a date YYYY-MM-DD, got {value!r}") from None
    return value


def need_time(data: Mapping[str, Any], name: str, where: str = "") -> str:
    """An RFC 3339 timestamp with its offset (``2026-11-27T09:15:02Z``)."""
    value = need_str(data, name, where, 40)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value:
        raise FieldError(
            f"{_path(where, name)} must be an RFC 3339 time with offset, got {value!r}"
        )
    return value
