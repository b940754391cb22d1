"""The promotion file format (JSON or TOML) to a ``RuleSet``, with errors that name the rule.

Pure core: it parses text it is given; reading the file is the caller's job (``kiosk promo
import FILE`` on the main thread, the sync agent for promotions that arrive over MQTT). The
format is documented field by field in docs/promotions.md. Every problem raises
``PromotionFormatError`` naming the promotion id (or its index when it has none) and the field,
e.g. ``promotion 'P-COLA', field 'tiers[1].spend': tiers must be in increasing order of spend``.

Amounts are written in major units as strings or numbers (``"10.00"``, ``10``), never with more
decimals than the currency has; numbers with a fraction are read as exact decimals, never as
floats.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, TypeVar

from kiosk.errors import MoneyError
from kiosk.money import exponent
from kiosk.promotions.rules import (
    ANY_MEMBER,
    AmountOff,
    CouponTerms,
    FixedPrice,
    MultiBuy,
    Offer,
    PercentOff,
    Promotion,
    PromotionFormatError,
    RuleSet,
    SpendThreshold,
    Stacking,
    Target,
    Tier,
)
from kiosk.promotions.schedule import ALWAYS, Schedule, parse_day, parse_hours, parse_moment

FORMAT: Final = "kiosk-promotions/1"
TYPES: Final[tuple[str, ...]] = (
    "percent_off",
    "amount_off",
    "fixed_price",
    "member_price",
    "multi_buy",
    "mix_match",
    "spend",
)
_COMMON: Final = frozenset(
    {"id", "name", "type", "items", "stacking", "priority", "when", "stores", "members", "coupon"}
)
_OFFER_KEYS: Final[dict[str, frozenset[str]]] = {
    "percent_off": frozenset({"percent"}),
    "amount_off": frozenset({"amount"}),
    "fixed_price": frozenset({"price"}),
    "member_price": frozenset({"price"}),
    "multi_buy": frozenset({"buy", "price", "get", "percent"}),
    "mix_match": frozenset({"buy", "price", "get", "percent"}),
    "spend": frozenset({"tiers", "every", "max_times"}),
}
_COUPON_KEYS: Final = frozenset(
    {"code", "prefix", "single_use", "max_uses", "per_member", "valid_from", "valid_until"}
)
_STACKING: Final[dict[str, Stacking]] = {
    "best": "best",
    "stackable": "stackable",
    "exclusive": "exclusive",
}
T = TypeVar("T")


class _Fields:
    """One promotion's table, read field by field; every error names the rule and field."""

    def __init__(self, data: Mapping[str, Any], rule_id: str | None, where: str) -> None:
        self.data = data
        self.rule_id = rule_id
        self.where = where  # prefix for nested tables: "", "coupon.", "tiers[0]."

    def error(self, name: str, problem: str) -> PromotionFormatError:
        return PromotionFormatError(self.rule_id, f"{self.where}{name}", problem)

    def nested(self, name: str) -> _Fields | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error(name, "must be a table")
        return _Fields(value, self.rule_id, f"{self.where}{name}.")

    def only(self, allowed: frozenset[str]) -> None:
        for key in sorted(self.data):
            if key not in allowed:
                raise self.error(
                    key, f"is not a field here; expected: {', '.join(sorted(allowed))}"
                )

    def get(self, name: str, kind: type[T], default: T | None = None) -> T:
        value = self.data.get(name)
        if value is None:
            if default is None:
                raise self.error(name, "is missing")
            return default
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            raise self.error(name, f"must be {_KIND_NAMES.get(kind, kind.__name__)}")
        return value

    def strings(self, name: str) -> frozenset[str]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(name, "must be a list of non-empty strings")
        return frozenset(value)

    def decimal(self, name: str, required: bool = True) -> Decimal | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.error(name, "is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise self.error(name, f"must be a number or a string like '9.90', not {value!r}")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self.error(name, f"{value!r} is not a number") from None
        if not number.is_finite():
            raise self.error(name, f"{value!r} is not a finite number")
        return number

    def percent(self, name: str, required: bool = True) -> Decimal | None:
        number = self.decimal(name, required)
        if number is not None and not 0 < number <= 100:
            raise self.error(name, f"must be above 0 and at most 100, not {number}")
        return number

    def money(self, name: str, currency: str, required: bool = True) -> int | None:
        number = self.decimal(name, required)
        if number is None:
            return None
        places = exponent(currency)
        minor = number.scaleb(places)
        if minor != minor.to_integral_value():
            raise self.error(name, f"{number} has more than {places} decimals for {currency}")
        if minor < 0:
            raise self.error(name, f"must not be negative, not {number}")
        return int(minor)

    def moment(self, name: str, *, end: bool) -> datetime | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, date | datetime):  # TOML date literals
            value = value.isoformat()
        if not isinstance(value, str):
            raise self.error(name, "must be a date (2026-11-27) or date-time (2026-11-27T08:00)")
        return self.wrap(name, lambda: parse_moment(value, end=end))

    def wrap(self, name: str, parse: Callable[[], T]) -> T:
        try:
            return parse()
        except ValueError as exc:
            raise self.error(name, str(exc)) from None


_KIND_NAMES: Final[dict[type, str]] = {
    str: "a string",
    int: "a whole number",
    bool: "true or false",
    list: "a list",
}


def _target(fields: _Fields, kind: str) -> Target:
    items = fields.nested("items")
    if items is None:
        if kind != "spend":
            raise fields.error("items", "is missing: give skus and/or categories")
        return Target()
    items.only(frozenset({"skus", "categories"}))
    target = Target(items.strings("skus"), items.strings("categories"))
    if target.whole_basket:
        raise fields.error("items", "give at least one sku or category (or leave items out)")
    if kind == "mix_match" and len(target.skus) < 2 and not target.categories:
        raise fields.error("items", "a mix-and-match group needs two or more skus or a category")
    return target


def _tiers(fields: _Fields, currency: str) -> tuple[Tier, ...]:
    raw = fields.data.get("tiers")
    if not isinstance(raw, list) or not raw:
        raise fields.error("tiers", "must be a list of at least one {spend, save|percent}")
    tiers = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            raise fields.error(f"tiers[{i}]", "must be a table with spend and save or percent")
        tier = _Fields(entry, fields.rule_id, f"tiers[{i}].")
        tier.only(frozenset({"spend", "save", "percent"}))
        spend = tier.money("spend", currency)
        assert spend is not None
        tiers.append(
            Tier(spend, tier.money("save", currency, False), tier.percent("percent", False))
        )
    return tuple(tiers)


def _offer(fields: _Fields, kind: str, currency: str) -> Offer:
    if kind == "percent_off":
        return PercentOff(fields.percent("percent") or Decimal(0))
    if kind == "amount_off":
        return AmountOff(fields.money("amount", currency) or 0)
    if kind in ("fixed_price", "member_price"):
        price = fields.money("price", currency)
        return FixedPrice(0 if price is None else price)
    if kind in ("multi_buy", "mix_match"):
        if "price" in fields.data and ("get" in fields.data or "percent" in fields.data):
            raise fields.error("price", "a multi-buy has either a price (N for X) or get/percent")
        return MultiBuy(
            buy=fields.get("buy", int),
            price=fields.money("price", currency, False),
            get=fields.get("get", int, 0),
            percent=fields.percent("percent", False) or Decimal(100),
            mix=kind == "mix_match",
        )
    return SpendThreshold(
        _tiers(fields, currency), fields.get("every", bool, False), fields.get("max_times", int, 0)
    )


def _schedule(fields: _Fields) -> Schedule:
    when = fields.nested("when")
    if when is None:
        return ALWAYS
    when.only(frozenset({"from", "until", "days", "hours"}))
    days = frozenset(when.wrap("days", lambda: [parse_day(d) for d in when.strings("days")]))
    hours = tuple(
        sorted(when.wrap("hours", lambda: [parse_hours(h) for h in when.strings("hours")]))
    )
    start, end = when.moment("from", end=False), when.moment("until", end=True)
    if start is not None and end is not None and end <= start:
        raise when.error("until", "is not after from")
    return Schedule(start, end, days, hours)


def _members(fields: _Fields, kind: str) -> frozenset[str] | None:
    value = fields.data.get("members")
    if value is None:
        return frozenset({ANY_MEMBER}) if kind == "member_price" else None
    if value == ANY_MEMBER:
        return frozenset({ANY_MEMBER})
    levels = fields.strings("members")
    if not levels:
        raise fields.error("members", "list at least one level, or '*' for any member")
    return levels


def _coupon(fields: _Fields) -> CouponTerms | None:
    coupon = fields.nested("coupon")
    if coupon is None:
        return None
    coupon.only(_COUPON_KEYS)

    def day(name: str) -> date | None:
        moment = coupon.moment(name, end=False)
        return None if moment is None else moment.date()

    return CouponTerms(
        code=coupon.get("code", str, ""),
        prefix=coupon.get("prefix", str, ""),
        single_use=coupon.get("single_use", bool, False),
        max_uses=coupon.get("max_uses", int, 0),
        per_member=coupon.get("per_member", int, 0),
        valid_from=day("valid_from"),
        valid_until=day("valid_until"),
    )


def _promotion(data: object, index: int, currency: str) -> Promotion:
    if not isinstance(data, Mapping):
        raise PromotionFormatError(None, f"promotions[{index}]", "must be a table")
    rule_id = data.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise PromotionFormatError(None, f"promotions[{index}].id", "needs a non-empty string id")
    fields = _Fields(data, rule_id, "")
    kind = fields.get("type", str)
    if kind not in TYPES:
        raise fields.error(
            "type", f"{kind!r} is not a promotion type; use one of {', '.join(TYPES)}"
        )
    fields.only(_COMMON | _OFFER_KEYS[kind])
    names = fields.nested("name")
    if names is None or not names.data:
        raise fields.error("name", "give a display name per language: {zh_CN = ..., en = ...}")
    for lang in sorted(names.data):
        names.get(lang, str)
    stacking = fields.get("stacking", str, "best")
    if stacking not in _STACKING:
        raise fields.error("stacking", f"{stacking!r}: use one of {', '.join(_STACKING)}")
    return Promotion(
        id=rule_id,
        names=dict(names.data),
        offer=_offer(fields, kind, currency),
        target=_target(fields, kind),
        stacking=_STACKING[stacking],
        priority=fields.get("priority", int, 0),
        schedule=_schedule(fields),
        stores=fields.strings("stores"),
        member_levels=_members(fields, kind),
        coupon=_coupon(fields),
    )


def promotions_from_data(data: Mapping[str, Any]) -> RuleSet:
    """A parsed promotion document (the JSON object or TOML table) to a ``RuleSet``."""
    top = _Fields(data, None, "")
    top.only(frozenset({"format", "version", "currency", "promotions"}))
    if top.get("format", str) != FORMAT:
        raise top.error("format", f"must be {FORMAT!r}")
    currency = top.get("currency", str)
    top.wrap("currency", lambda: _currency(currency))
    raw = top.data.get("promotions", [])
    if not isinstance(raw, list):
        raise top.error("promotions", "must be a list of promotion tables")
    promotions = [_promotion(entry, i, currency) for i, entry in enumerate(raw)]
    return RuleSet(promotions, currency=currency, version=top.get("version", str))


def _currency(code: str) -> int:
    try:
        return exponent(code)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


def parse_promotions(text: str, syntax: Literal["json", "toml"] = "json") -> RuleSet:
    """The text of a promotion file to a ``RuleSet``; ``syntax`` says JSON or TOML."""
    try:
        if syntax == "json":
            data = json.loads(text, parse_float=Decimal)
        elif syntax == "toml":
            data = tomllib.loads(text, parse_float=Decimal)
        else:
            raise PromotionFormatError(None, "(file)", f"unknown syntax {syntax!r}: json or toml")
    except json.JSONDecodeError as exc:
        raise PromotionFormatError(
            None, "(file)", f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise PromotionFormatError(None, "(file)", f"not valid TOML: {exc}") from None
    if not isinstance(data, Mapping):
        raise PromotionFormatError(None, "(file)", "the document must be an object/table")
    return promotions_from_data(data)
