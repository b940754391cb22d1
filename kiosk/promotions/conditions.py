"""Whether a promotion applies to this sale: store, schedule, member level, coupon. Pure core.

Lane thread. The engine checks only what the context tells it: the store, the local time, the
member's level, the coupons presented with their uses so far, and the member's uses of each
coupon promotion. Recording a redemption is the lane's job when the sale completes
(``PromoResult.redeemed_coupons``).
"""

from __future__ import annotations

from typing import Final

from kiosk.promotions.context import CouponOutcome, CouponStatus, PresentedCoupon, PromoContext
from kiosk.promotions.rules import ANY_MEMBER, Promotion, PromotionError, RuleSet

# When none of a code's promotions can be used, the status shown is the first of these found:
# the one closest to being usable.
_CLOSEST_FIRST: Final[tuple[CouponStatus, ...]] = (
    "not_active",
    "member_required",
    "limit_reached",
    "used",
    "expired",
    "not_yet_valid",
)


def check_context(context: PromoContext) -> None:
    """Refuse a context the engine cannot use, naming what is wrong."""
    if context.rounding_mode not in ("half_up", "half_even"):
        raise PromotionError(
            f"context rounding_mode {context.rounding_mode!r}: use half_up or half_even"
        )
    for coupon in context.coupons:
        if not coupon.code:
            raise PromotionError("a presented coupon has an empty code")
        if coupon.uses < 0:
            raise PromotionError(f"coupon {coupon.code!r}: uses must be 0 or more")
    for rule_id, uses in context.member_coupon_uses.items():
        if uses < 0:
            raise PromotionError(f"member_coupon_uses[{rule_id!r}] must be 0 or more")


def runs_now(rule: Promotion, context: PromoContext) -> bool:
    """Store, schedule and member level allow ``rule`` (its coupon is checked separately)."""
    if rule.stores and context.store_id not in rule.stores:
        return False
    levels = rule.member_levels
    if levels is not None:
        level = context.member_level
        if level is None or (ANY_MEMBER not in levels and level not in levels):
            return False
    return rule.schedule.is_active(context.now)


def coupon_status(rule: Promotion, coupon: PresentedCoupon, context: PromoContext) -> str:
    """``"valid"`` or the reason ``coupon`` cannot unlock ``rule`` now."""
    terms = rule.coupon
    assert terms is not None
    today = context.now.date()
    if terms.valid_from is not None and today < terms.valid_from:
        return "not_yet_valid"
    if terms.valid_until is not None and today > terms.valid_until:
        return "expired"
    if terms.single_use and coupon.uses >= 1:
        return "used"
    if terms.max_uses and coupon.uses >= terms.max_uses:
        return "limit_reached"
    if terms.per_member:
        if context.member_level is None:
            return "member_required"
        if context.member_coupon_uses.get(rule.id, 0) >= terms.per_member:
            return "limit_reached"
    if not runs_now(rule, context):
        return "not_active"
    return "valid"


def unlocked_coupons(
    rules: RuleSet, context: PromoContext
) -> tuple[dict[int, str], dict[str, dict[int, str]]]:
    """Coupon rules the presented coupons unlock (rank -> code), and per presented code the
    status of each of its rules (for ``coupon_outcomes``)."""
    unlocked: dict[int, str] = {}
    statuses: dict[str, dict[int, str]] = {}
    for coupon in context.coupons:
        if coupon.code in statuses:
            continue
        per_rule = {}
        for rank in rules.coupon_rules(coupon.code):
            status = coupon_status(rules.rules[rank], coupon, context)
            per_rule[rank] = status
            if status == "valid":
                unlocked.setdefault(rank, coupon.code)
        statuses[coupon.code] = per_rule
    return unlocked, statuses


def coupon_outcomes(
    rules: RuleSet,
    statuses: dict[str, dict[int, str]],
    applied: set[int],
    unlocked: dict[int, str],
) -> tuple[CouponOutcome, ...]:
    """One outcome per distinct presented code, in the order presented."""
    outcomes = []
    for code, per_rule in statuses.items():
        ids = tuple(rules.rules[rank].id for rank in per_rule)
        status: CouponStatus
        if not per_rule:
            status = "unknown"
        elif any(rank in applied and unlocked.get(rank) == code for rank in per_rule):
            status = "applied"
        elif "valid" in per_rule.values():
            status = "no_saving"
        else:
            status = next(s for s in _CLOSEST_FIRST if s in per_rule.values())
        outcomes.append(CouponOutcome(code, status, ids))
    return tuple(outcomes)
