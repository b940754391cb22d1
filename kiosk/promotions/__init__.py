"""The promotion engine: rules as data, and the best combination for a basket. Pure core.

Read docs/promotions.md first. The lane thread calls, after every basket change::

    result = apply_promotions(basket, rules, context)
    basket = with_promotions(basket, result)
    totals = price_basket(basket, tax, currency)

``rules`` is a ``RuleSet`` built once per rules version (``parse_promotions`` on the text of a
promotion file, on the thread that loads it); ``context`` a ``PromoContext`` (time, store,
member, coupons, SKU categories). Modules: ``rules`` (rule types, the indexed set),
``schedule`` (time windows), ``format`` (the file format), ``context`` (the engine's input and
output types), ``conditions`` (store, time, member, coupon checks), ``view`` (the basket as
units), ``items`` and ``thresholds`` (the two phases), ``search`` and ``resolve`` (the best
combination), ``engine`` (the entry points).
"""

from kiosk.promotions.context import (
    AppliedPromotion,
    CouponOutcome,
    CouponStatus,
    LineAdjustments,
    PresentedCoupon,
    PromoContext,
    PromoResult,
)
from kiosk.promotions.engine import apply_promotions, with_promotions
from kiosk.promotions.format import FORMAT, parse_promotions, promotions_from_data
from kiosk.promotions.rules import (
    AmountOff,
    CouponTerms,
    FixedPrice,
    MultiBuy,
    PercentOff,
    Promotion,
    PromotionError,
    PromotionFormatError,
    RuleSet,
    SpendThreshold,
    Target,
    Tier,
)
from kiosk.promotions.schedule import Schedule

__all__ = [
    "FORMAT",
    "AmountOff",
    "AppliedPromotion",
    "CouponOutcome",
    "CouponStatus",
    "CouponTerms",
    "FixedPrice",
    "LineAdjustments",
    "MultiBuy",
    "PercentOff",
    "PresentedCoupon",
    "PromoContext",
    "PromoResult",
    "Promotion",
    "PromotionError",
    "PromotionFormatError",
    "RuleSet",
    "Schedule",
    "SpendThreshold",
    "Target",
    "Tier",
    "apply_promotions",
    "parse_promotions",
    "promotions_from_data",
    "with_promotions",
]
