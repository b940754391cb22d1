"""What the promotion engine is told (``PromoContext``) and what it answers (``PromoResult``).

Pure core, plain frozen data, built and read on the lane thread. The engine reads no clock, no
store and no catalog: everything it needs beyond the basket comes in the context, so the same
basket and context give the same result on every kiosk and on the central side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from kiosk.basket import Adjustment

CouponStatus = Literal[
    "applied",  # the coupon's promotion is part of the chosen combination
    "no_saving",  # valid, but the basket does not qualify or a better combination won
    "not_active",  # outside the promotion's hours, days, dates, store or member levels
    "member_required",  # a per-member coupon and no member identified
    "limit_reached",  # max_uses of the code, or the member's per_member limit, reached
    "used",  # a single-use code already redeemed
    "expired",  # after valid_until
    "not_yet_valid",  # before valid_from
    "unknown",  # no promotion takes this code
]


@dataclass(frozen=True, slots=True)
class PresentedCoupon:
    """A coupon scanned for this basket; ``uses``: redemptions of this code so far (all
    customers), as the store knows them."""

    code: str
    uses: int = 0


@dataclass(frozen=True, slots=True)
class PromoContext:
    """Everything besides the basket that decides which promotions apply.

    ``now``: store-local wall-clock time of the sale. ``categories``: SKU -> catalog category
    for the basket's SKUs (lines do not carry it; the lane knows it from the product lookup).
    ``member_level``: the identified member's level, ``None`` without a member.
    ``member_coupon_uses``: promotion id -> redemptions so far by this member (for
    ``per_member`` limits). ``language``: for the adjustment reasons. ``rounding_mode``: how a
    fraction of a minor unit is rounded (``tax.rounding_mode``).
    """

    now: datetime
    store_id: str = ""
    member_level: str | None = None
    coupons: tuple[PresentedCoupon, ...] = ()
    member_coupon_uses: Mapping[str, int] = field(default_factory=dict)
    categories: Mapping[str, str] = field(default_factory=dict)
    language: str = "zh_CN"
    rounding_mode: str = "half_up"


@dataclass(frozen=True, slots=True)
class LineAdjustments:
    """The promotion and coupon adjustments for one basket line (each amount negative)."""

    line_no: int
    adjustments: tuple[Adjustment, ...]


@dataclass(frozen=True, slots=True)
class AppliedPromotion:
    """One promotion of the chosen combination: what it saved in all (positive minor units),
    on which lines, and the coupon code that unlocked it (if any)."""

    rule_id: str
    name: str
    kind: Literal["promotion", "coupon"]
    saving: int
    line_nos: tuple[int, ...]
    coupon_code: str | None = None


@dataclass(frozen=True, slots=True)
class CouponOutcome:
    """What became of one presented coupon; ``rule_ids`` are the promotions it redeems."""

    code: str
    status: CouponStatus
    rule_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PromoResult:
    """The promotions chosen for a basket.

    ``lines``: per line (sorted by line number, only lines with a saving) the adjustments to
    attach with ``with_promotions``; every promotion, spend thresholds included, is attached
    to lines (see docs/promotions.md). ``applied``: one entry per promotion used, in canonical
    rule order. ``coupons``: one outcome per presented coupon, in the order presented.
    ``saving``: the total saved (positive).
    """

    rules_version: str
    lines: tuple[LineAdjustments, ...] = ()
    applied: tuple[AppliedPromotion, ...] = ()
    coupons: tuple[CouponOutcome, ...] = ()
    saving: int = 0

    def adjustments_for(self, line_no: int) -> tuple[Adjustment, ...]:
        for entry in self.lines:
            if entry.line_no == line_no:
                return entry.adjustments
        return ()

    @property
    def redeemed_coupons(self) -> tuple[str, ...]:
        """Codes whose promotion was applied: the ones to record as used when the sale ends."""
        return tuple(c.code for c in self.coupons if c.status == "applied")
