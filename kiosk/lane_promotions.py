"""Promotions in the lane: re-pricing the basket after every change, and coupon scans. Pure core.

Called on the lane thread. ``kiosk.checkout.Lane`` calls ``reprice_if_changed`` after every
command (or device event) that changed the state of an open sale, before the state is saved:
an item added, a quantity changed, a line voided, a member identified, a coupon scanned. It
runs ``apply_promotions`` on the basket with the current rules (``LaneDeps.promotions``, parsed
once per rules version by the adapter) and a ``PromoContext`` (store-local time, store, member
level, presented coupons, the basket SKUs' categories, language, rounding mode), then
``with_promotions``: the promotion and coupon adjustments are replaced, manual ones stay.

``coupon_scanned`` (from ``kiosk.lane_items``) records a coupon code on the lane state and
re-prices; a code the engine refuses (``unknown``, ``expired``, ``used``...) is not kept and is
answered with ``scan_rejected`` whose ``reason`` is the engine's coupon status
(``coupon_not_accepted`` when no promotion rules are imported at all).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from kiosk.loyalty import promo_member_level
from kiosk.promotions import (
    CouponOutcome,
    PresentedCoupon,
    PromoContext,
    PromoResult,
    RuleSet,
    apply_promotions,
    with_promotions,
)

if TYPE_CHECKING:
    from kiosk.checkout import Lane

# Coupon statuses that refuse the scan; the others keep the code for the sale (it may apply
# once the basket qualifies or a member is identified).
REFUSED: Final = frozenset({"unknown", "expired", "used", "not_yet_valid", "limit_reached"})
PROMO_KINDS: Final = frozenset({"promotion", "coupon"})


class LanePromotions:
    """Re-prices one lane's basket. Keeps only a cache of SKU -> catalog category."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self._categories: dict[str, str] = {}

    def reprice_if_changed(self) -> None:
        """Re-price an open sale's basket (scanning mode) with the current rules."""
        lane = self.lane
        state = lane.state
        if lane.deps.promotions is None or state.mode != "scanning":
            return
        self.reprice()

    def reprice(self) -> PromoResult | None:
        """Apply the current rules to the basket; None (and no promotions) without rules."""
        lane = self.lane
        port = lane.deps.promotions
        state = lane.state
        rules = port.current() if port is not None else None
        if rules is None:
            has_promos = any(
                a.kind in PROMO_KINDS for ln in state.basket.lines for a in ln.adjustments
            )
            if has_promos:
                state.basket = with_promotions(state.basket, PromoResult(rules_version=""))
                lane.touch()
            state.redeemed_coupons = {}
            return None
        result = self._evaluate(rules, state.coupons)
        before = state.basket.to_dict()
        state.basket = with_promotions(state.basket, result)
        redeemed: dict[str, list[str]] = {}
        for applied in result.applied:
            if applied.coupon_code is not None:
                redeemed.setdefault(applied.coupon_code, []).append(applied.rule_id)
        state.redeemed_coupons = redeemed
        if state.basket.to_dict() != before:
            lane.touch()
        return result

    def _evaluate(self, rules: RuleSet, coupons: list[str]) -> PromoResult:
        """The engine's answer for the lane's basket with ``coupons`` presented."""
        lane = self.lane
        port = lane.deps.promotions
        assert port is not None
        state = lane.state
        uses = port.coupon_uses(coupons)
        member = state.member
        context = PromoContext(
            now=lane.deps.clock.now().astimezone(lane.deps.tz).replace(tzinfo=None),
            store_id=lane.config.store.id,
            member_level=promo_member_level(member),
            coupons=tuple(PresentedCoupon(c, uses.get(c, 0)) for c in coupons),
            member_coupon_uses=port.member_coupon_uses(member.member_id) if member else {},
            categories=self._categories_of({ln.sku for ln in state.basket.active_lines()}),
            language=state.language,
            rounding_mode=lane.config.tax.rounding_mode,
        )
        return apply_promotions(state.basket, rules, context)

    def _categories_of(self, skus: set[str]) -> dict[str, str]:
        catalog = self.lane.deps.catalog
        for sku in sorted(skus - self._categories.keys()):
            product = catalog.by_sku(sku)
            self._categories[sku] = product.category if product is not None else ""
        return {sku: self._categories[sku] for sku in skus if self._categories[sku]}

    def coupon_scanned(self, code: str) -> None:
        """A coupon barcode: kept for the sale and the basket re-priced, or refused (a refused
        coupon never opens a sale)."""
        lane = self.lane
        state = lane.state
        port = lane.deps.promotions
        rules = port.current() if port is not None else None
        if rules is None:
            lane.emit(
                "scan_rejected",
                reason="coupon_not_accepted",
                message="This kiosk has no promotions for coupons; please ask an attendant.",
            )
            return
        if code in state.coupons:
            lane.emit(
                "scan_rejected",
                reason="coupon_already_scanned",
                message="This coupon has already been scanned for this sale.",
            )
            return
        outcome = _outcome(self._evaluate(rules, [*state.coupons, code]), code)
        if outcome.status in REFUSED:
            lane.emit(
                "scan_rejected",
                reason=outcome.status,
                message=f"Coupon {code} cannot be used ({outcome.status.replace('_', ' ')}).",
            )
            return
        lane.require_selling()
        lane.state.coupons.append(code)
        lane.touch()
        self.reprice()
        lane.emit("coupon_scanned", code=code, status=outcome.status, rules=list(outcome.rule_ids))


def _outcome(result: PromoResult, code: str) -> CouponOutcome:
    for outcome in result.coupons:
        if outcome.code == code:
            return outcome
    return CouponOutcome(code, "unknown")
