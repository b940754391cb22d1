"""Promotion rules as plain data, and the rule set indexed by SKU and category. Pure core.

Built once per rules version (by ``kiosk.promotions.format`` from a promotion file, or directly
in code) on whatever thread loads the rules; read-only afterwards, so the lane thread can use it
without locks. docs/promotions.md describes every rule type and field.

A ``Promotion`` is an ``offer`` (what the customer gets) on a ``target`` (which items) under
conditions (schedule, stores, member levels, coupon). Amounts are integer minor units of the
rule set's currency; percentages are exact ``Decimal`` values (``Decimal("15")`` is 15 %).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final, Literal

from kiosk.errors import CatalogError
from kiosk.money import exponent
from kiosk.promotions.schedule import ALWAYS, Schedule

Stacking = Literal["best", "stackable", "exclusive"]
STACKING_MODES: Final[tuple[str, ...]] = ("best", "stackable", "exclusive")
ANY_MEMBER: Final = "*"
MAX_GROUP: Final = 100  # the most units one multi-buy group may hold


class PromotionError(CatalogError):
    """A promotion rule or the engine's input is wrong."""


class PromotionFormatError(PromotionError):
    """A promotion is invalid: ``rule_id`` (``None`` for the file itself) and ``field`` name it."""

    def __init__(self, rule_id: str | None, field_name: str, problem: str) -> None:
        self.rule_id = rule_id
        self.field = field_name
        self.problem = problem
        where = f"promotion {rule_id!r}" if rule_id is not None else "promotion file"
        super().__init__(f"{where}, field '{field_name}': {problem}")


def _ratio(percent: Decimal) -> tuple[int, int]:
    """``percent / 100`` as an exact integer fraction ``(numerator, denominator)``."""
    return (percent / 100).as_integer_ratio()


# -- offers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PercentOff:
    """``percent`` % off each targeted item (of the line amount for a weighed line)."""

    percent: Decimal
    ratio: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ratio", _ratio(Decimal(self.percent)))


@dataclass(frozen=True, slots=True)
class AmountOff:
    """``amount`` off each targeted item (per kilogram for a weighed line)."""

    amount: int


@dataclass(frozen=True, slots=True)
class FixedPrice:
    """Each targeted item costs ``price`` (per kilogram for a weighed line), if that is less."""

    price: int


@dataclass(frozen=True, slots=True)
class MultiBuy:
    """Groups of items sold each: ``buy`` for ``price`` (3 for 10.00), or, without a price,
    buy ``buy`` get ``get`` more at ``percent`` % off (buy 2 get 1 free: 2, 1, 100; second
    item half price: 1, 1, 50). ``mix`` marks a mix-and-match group (display only)."""

    buy: int
    price: int | None = None
    get: int = 0
    percent: Decimal = Decimal(100)
    mix: bool = False
    ratio: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ratio", _ratio(Decimal(self.percent)))

    @property
    def size(self) -> int:
        """Units in one group."""
        return self.buy if self.price is not None else self.buy + self.get


@dataclass(frozen=True, slots=True)
class Tier:
    """Spend at least ``spend``: save ``save`` (an amount) or ``percent`` % of the spend."""

    spend: int
    save: int | None = None
    percent: Decimal | None = None
    ratio: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pct = Decimal(0) if self.percent is None else Decimal(self.percent)
        object.__setattr__(self, "ratio", _ratio(pct))


@dataclass(frozen=True, slots=True)
class SpendThreshold:
    """满减: tiers on the spend of the target (the whole basket when the target is empty).

    With ``every`` (one tier, an amount): save ``save`` for every full ``spend``
    (每满100减10), at most ``max_times`` times when that is above 0.
    """

    tiers: tuple[Tier, ...]
    every: bool = False
    max_times: int = 0


Offer = PercentOff | AmountOff | FixedPrice | MultiBuy | SpendThreshold


# -- targets and conditions ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """Which items a promotion is about: these SKUs and every item of these categories.
    Empty (only for a spend threshold) means the whole basket."""

    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()

    @property
    def whole_basket(self) -> bool:
        return not self.skus and not self.categories

    def matches(self, sku: str, category: str) -> bool:
        return self.whole_basket or sku in self.skus or (category in self.categories)


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """A coupon the customer must present: one exact ``code`` or every code with ``prefix``.

    ``single_use``: each code can be redeemed once. ``max_uses`` (0: no limit): redemptions of
    a code in all. ``per_member`` (0: no limit): redemptions of this promotion by one member;
    such a coupon needs an identified member. ``valid_from`` / ``valid_until``: inclusive dates.
    """

    code: str = ""
    prefix: str = ""
    single_use: bool = False
    max_uses: int = 0
    per_member: int = 0
    valid_from: date | None = None
    valid_until: date | None = None

    def matches(self, code: str) -> bool:
        return code == self.code if self.code else code.startswith(self.prefix)


@dataclass(frozen=True, slots=True)
class Promotion:
    """One promotion rule. ``names`` maps a language code to the name shown on the basket
    view and the receipt. ``member_levels``: ``None`` for everyone, ``{"*"}`` for any member,
    otherwise the member levels it is for. ``stores``: empty for every store."""

    id: str
    names: Mapping[str, str]
    offer: Offer
    target: Target = Target()
    stacking: Stacking = "best"
    priority: int = 0
    schedule: Schedule = ALWAYS
    stores: frozenset[str] = frozenset()
    member_levels: frozenset[str] | None = None
    coupon: CouponTerms | None = None

    def name(self, language: str) -> str:
        """The display name in ``language``, else English, else any name, else the id."""
        for lang in (language, "en"):
            if self.names.get(lang):
                return self.names[lang]
        return next((v for v in self.names.values() if v), self.id)

    @property
    def kind(self) -> Literal["promotion", "coupon"]:
        return "coupon" if self.coupon is not None else "promotion"

    @property
    def is_threshold(self) -> bool:
        return isinstance(self.offer, SpendThreshold)


# -- validation ------------------------------------------------------------------------------


def _bad(rule: Promotion, name: str, problem: str) -> PromotionFormatError:
    return PromotionFormatError(rule.id, name, problem)


def _check_percent(rule: Promotion, name: str, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 < value <= 100:
        raise _bad(rule, name, f"must be a Decimal percentage above 0 and at most 100, not {value}")


def _check_amount(rule: Promotion, name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(rule, name, f"must be a whole number of minor units, at least {minimum}")


def _check_count(rule: Promotion, name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(rule, name, f"must be a whole number, at least {minimum}, not {value!r}")


def _check_offer(rule: Promotion) -> None:
    offer = rule.offer
    if isinstance(offer, PercentOff):
        _check_percent(rule, "percent", offer.percent)
    elif isinstance(offer, AmountOff):
        _check_amount(rule, "amount", offer.amount, 1)
    elif isinstance(offer, FixedPrice):
        _check_amount(rule, "price", offer.price, 0)
    elif isinstance(offer, MultiBuy):
        _check_count(rule, "buy", offer.buy, 1)
        if offer.price is not None:
            _check_amount(rule, "price", offer.price, 0)
            if offer.get:
                raise _bad(rule, "get", "a multi-buy has either a price or get, not both")
        else:
            _check_count(rule, "get", offer.get, 1)
            _check_percent(rule, "percent", offer.percent)
        if offer.size > MAX_GROUP:
            raise _bad(rule, "buy", f"a group may hold at most {MAX_GROUP} items")
    else:
        _check_tiers(rule, offer)


def _check_tiers(rule: Promotion, offer: SpendThreshold) -> None:
    if not offer.tiers:
        raise _bad(rule, "tiers", "needs at least one tier")
    previous = 0
    for i, tier in enumerate(offer.tiers):
        _check_amount(rule, f"tiers[{i}].spend", tier.spend, 1)
        if tier.spend <= previous:
            raise _bad(rule, f"tiers[{i}].spend", "tiers must be in increasing order of spend")
        previous = tier.spend
        if (tier.save is None) == (tier.percent is None):
            raise _bad(rule, f"tiers[{i}]", "give either save (an amount) or percent, not both")
        if tier.save is not None:
            _check_amount(rule, f"tiers[{i}].save", tier.save, 1)
        else:
            _check_percent(rule, f"tiers[{i}].percent", tier.percent)
    if offer.every and (len(offer.tiers) != 1 or offer.tiers[0].save is None):
        raise _bad(rule, "every", "'every' needs exactly one tier with an amount to save")
    _check_count(rule, "max_times", offer.max_times, 0)


def validate(rule: Promotion) -> None:
    """Raise ``PromotionFormatError`` naming the rule and the field when ``rule`` is wrong."""
    if not isinstance(rule.id, str) or not rule.id.strip():
        raise PromotionFormatError(None, "id", "every promotion needs a non-empty id")
    if not any(isinstance(v, str) and v for v in rule.names.values()):
        raise _bad(rule, "name", "needs a display name in at least one language")
    if rule.stacking not in STACKING_MODES:
        raise _bad(rule, "stacking", f"must be one of {', '.join(STACKING_MODES)}")
    _check_count(rule, "priority", rule.priority, -(10**9))
    _check_offer(rule)
    if rule.target.whole_basket and not rule.is_threshold:
        raise _bad(rule, "items", "needs at least one sku or category")
    if rule.coupon is not None:
        terms = rule.coupon
        if bool(terms.code) == bool(terms.prefix):
            raise _bad(rule, "coupon", "give either code or prefix")
        _check_count(rule, "coupon.max_uses", terms.max_uses, 0)
        _check_count(rule, "coupon.per_member", terms.per_member, 0)
        if terms.valid_from and terms.valid_until and terms.valid_until < terms.valid_from:
            raise _bad(rule, "coupon.valid_until", "is before valid_from")
    if rule.member_levels is not None and not rule.member_levels:
        raise _bad(rule, "members", "list at least one level, or '*' for any member")


# -- the indexed rule set --------------------------------------------------------------------


class RuleSet:
    """Promotions of one rules version, sorted and indexed once.

    ``rules`` are in canonical order: priority descending, then id; an index into ``rules`` is
    the rule's rank everywhere in the engine, so every tie goes to the higher priority, then to
    the smaller id. ``by_sku`` and ``by_category`` map to the ranks of the rules that name them;
    ``basket_wide`` holds the spend thresholds on the whole basket (coupon ones are reached
    from their codes, ``coupon_codes`` and ``coupon_prefixes``). The engine only looks at the
    rules reached from the basket's SKUs, categories and presented coupons, never at the whole
    set.
    """

    __slots__ = (
        "basket_wide",
        "by_category",
        "by_sku",
        "coupon_codes",
        "coupon_prefixes",
        "currency",
        "exclusive_ranks",
        "rules",
        "stackable_ranks",
        "threshold_ranks",
        "version",
    )

    def __init__(
        self, promotions: Iterable[Promotion], *, currency: str, version: str = ""
    ) -> None:
        exponent(currency)
        rules = sorted(promotions, key=lambda p: (-p.priority, p.id))
        seen: set[str] = set()
        for rule in rules:
            validate(rule)
            if rule.id in seen:
                raise PromotionFormatError(rule.id, "id", "two promotions have this id")
            seen.add(rule.id)
        self.currency = currency
        self.version = version
        self.rules: tuple[Promotion, ...] = tuple(rules)
        by_sku: dict[str, list[int]] = {}
        by_category: dict[str, list[int]] = {}
        codes: dict[str, list[int]] = {}
        prefixes: list[tuple[str, int]] = []
        basket_wide: list[int] = []
        for rank, rule in enumerate(self.rules):
            for sku in sorted(rule.target.skus):
                by_sku.setdefault(sku, []).append(rank)
            for category in sorted(rule.target.categories):
                by_category.setdefault(category, []).append(rank)
            if rule.target.whole_basket and rule.coupon is None:
                basket_wide.append(rank)
            if rule.coupon is not None and rule.coupon.code:
                codes.setdefault(rule.coupon.code, []).append(rank)
            elif rule.coupon is not None:
                prefixes.append((rule.coupon.prefix, rank))
        self.by_sku: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in by_sku.items()}
        self.by_category: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in by_category.items()}
        self.basket_wide: tuple[int, ...] = tuple(basket_wide)
        self.coupon_codes: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in codes.items()}
        self.coupon_prefixes: tuple[tuple[str, int], ...] = tuple(prefixes)
        self.threshold_ranks: frozenset[int] = frozenset(
            rank for rank, rule in enumerate(self.rules) if rule.is_threshold
        )
        self.stackable_ranks: frozenset[int] = frozenset(
            rank for rank, rule in enumerate(self.rules) if rule.stacking == "stackable"
        )
        self.exclusive_ranks: frozenset[int] = frozenset(
            rank for rank, rule in enumerate(self.rules) if rule.stacking == "exclusive"
        )

    def __len__(self) -> int:
        return len(self.rules)

    def rank_of(self, rule_id: str) -> int:
        for rank, rule in enumerate(self.rules):
            if rule.id == rule_id:
                return rank
        raise KeyError(rule_id)

    def coupon_rules(self, code: str) -> tuple[int, ...]:
        """Ranks of the coupon rules ``code`` redeems (exact codes and matching prefixes)."""
        found = set(self.coupon_codes.get(code, ()))
        found.update(rank for prefix, rank in self.coupon_prefixes if code.startswith(prefix))
        return tuple(sorted(found))
