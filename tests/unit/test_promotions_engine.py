"""kiosk.promotions engine: behaviours one at a time (the worked examples are in
test_promotions_examples.py, the properties in test_promotions_properties.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from kiosk.basket import Adjustment, Basket, Line
from kiosk.config import TaxConfig
from kiosk.errors import LaneError
from kiosk.pricing import price_basket
from kiosk.promotions import (
    AmountOff,
    CouponTerms,
    FixedPrice,
    MultiBuy,
    PercentOff,
    PresentedCoupon,
    PromoContext,
    Promotion,
    PromotionError,
    RuleSet,
    Schedule,
    SpendThreshold,
    Target,
    Tier,
    apply_promotions,
    with_promotions,
)
from kiosk.promotions.search import EXACT_ORDERS, best_independent, components, orders

NOW = datetime(2026, 11, 27, 10, 30)  # a Friday
CATEGORIES = {"COLA": "drinks", "JUICE": "drinks", "WATER": "drinks", "CHIPS": "snacks"}


def line(n: int, sku: str, price: int, qty: str = "1", **extra: object) -> Line:
    return Line(n, sku, {"en": sku}, "ea", Decimal(qty), price, "VAT13", **extra)  # type: ignore[arg-type]


def promo(rule_id: str, offer: object, skus: tuple[str, ...] = (), **extra: object) -> Promotion:
    target = Target(skus=frozenset(skus)) if skus else Target()
    return Promotion(rule_id, {"en": rule_id}, offer, target, **extra)  # type: ignore[arg-type]


def rules(*promotions: Promotion) -> RuleSet:
    return RuleSet(promotions, currency="CNY", version="t")


def ctx(**extra: object) -> PromoContext:
    return PromoContext(now=NOW, categories=CATEGORIES, language="en", **extra)  # type: ignore[arg-type]


def saving_of(basket: Basket, rule_set: RuleSet, context: PromoContext | None = None) -> int:
    return apply_promotions(basket, rule_set, context or ctx()).saving


# -- item rules --------------------------------------------------------------------------------


def test_best_item_rule_wins_per_unit_when_two_compete() -> None:
    rule_set = rules(
        promo("A10", PercentOff(Decimal(10)), ("COLA",)),
        promo("B100", AmountOff(100), ("COLA",)),
    )
    result = apply_promotions(Basket([line(1, "COLA", 350, "2")]), rule_set, ctx())

    assert result.saving == 200
    assert [a.rule_id for a in result.applied] == ["B100"]


def test_equal_savings_go_to_the_higher_priority_then_the_smaller_id() -> None:
    basket = Basket([line(1, "COLA", 350)])
    same = rules(promo("Z", AmountOff(50), ("COLA",)), promo("A", AmountOff(50), ("COLA",)))
    ranked = rules(
        promo("Z", AmountOff(50), ("COLA",), priority=5), promo("A", AmountOff(50), ("COLA",))
    )

    assert [a.rule_id for a in apply_promotions(basket, same, ctx()).applied] == ["A"]
    assert [a.rule_id for a in apply_promotions(basket, ranked, ctx()).applied] == ["Z"]


def test_fixed_price_above_the_shelf_price_saves_nothing() -> None:
    rule_set = rules(promo("F", FixedPrice(500), ("COLA",)))

    assert saving_of(Basket([line(1, "COLA", 350)]), rule_set) == 0


def test_amount_off_larger_than_the_item_makes_it_free_not_negative() -> None:
    rule_set = rules(promo("BIG", AmountOff(1000), ("COLA",)))
    result = apply_promotions(Basket([line(1, "COLA", 350, "2")]), rule_set, ctx())

    assert result.saving == 700
    assert result.adjustments_for(1) == (Adjustment(-700, "promotion", "BIG", "BIG"),)


def test_price_overridden_line_takes_no_item_promotion_but_counts_for_spend() -> None:
    override = Adjustment(-100, "price_override", "price check", "E07")
    basket = Basket([line(1, "COLA", 5000, adjustments=(override,)), line(2, "JUICE", 5000)])
    rule_set = rules(
        promo("C10", PercentOff(Decimal(10)), ("COLA",)),
        promo("M99", SpendThreshold((Tier(9900, save=1000),))),
    )
    result = apply_promotions(basket, rule_set, ctx())

    assert {a.rule_id: a.saving for a in result.applied} == {"M99": 1000}
    assert {entry.line_no for entry in result.lines} == {1, 2}


def test_manual_discount_and_promotion_never_take_a_line_below_zero() -> None:
    damaged = Adjustment(-300, "discount", "damaged", "E07")
    basket = Basket([line(1, "COLA", 350, adjustments=(damaged,))])
    result = apply_promotions(basket, rules(promo("H", PercentOff(Decimal(50)), ("COLA",))), ctx())

    assert result.saving == 50  # half of 3.50 is 1.75, but only 0.50 is left after the 3.00
    assert price_basket(with_promotions(basket, result), TaxConfig(), "CNY").due == 0


# -- multi-buy and mix-and-match -----------------------------------------------------------------


def test_removing_one_of_three_reprices_the_other_two() -> None:
    rule_set = rules(promo("C3", MultiBuy(buy=3, price=1000), ("COLA",)))
    three = Basket([line(1, "COLA", 350), line(2, "COLA", 350), line(3, "COLA", 350)])
    two = Basket([*three.lines[:2], replace(three.lines[2], voided=True)])

    before = with_promotions(three, apply_promotions(three, rule_set, ctx()))
    after = with_promotions(before, apply_promotions(before, rule_set, ctx()))
    after_void = with_promotions(two, apply_promotions(two, rule_set, ctx()))

    assert price_basket(before, TaxConfig(), "CNY").due == 1000
    assert price_basket(after_void, TaxConfig(), "CNY").due == 700
    assert all(not line_.adjustments for line_ in after_void.lines)
    assert after == before


def test_multi_buy_group_beats_per_item_rules_only_when_it_saves_more() -> None:
    basket = Basket([line(1, "COLA", 350, "3")])
    group = promo("C3", MultiBuy(buy=3, price=1000), ("COLA",))
    small = promo("S", AmountOff(10), ("COLA",))
    large = promo("L", AmountOff(30), ("COLA",))

    assert saving_of(basket, rules(group, small)) == 50
    assert saving_of(basket, rules(group, large)) == 90


def test_mix_and_match_prefers_units_whose_per_item_saving_is_small() -> None:
    basket = Basket([line(1, "COLA", 300, "1"), line(2, "JUICE", 300, "3")])
    group = promo("G3", MultiBuy(buy=3, price=800, mix=True), ("COLA", "JUICE"))
    cola_off = promo("CO", AmountOff(150), ("COLA",))

    result = apply_promotions(basket, rules(group, cola_off), ctx())

    assert result.saving == 100 + 150  # the three juices form the group, the cola keeps 1.50
    assert {a.rule_id: a.saving for a in result.applied} == {"CO": 150, "G3": 100}


def test_buy_get_discounts_the_cheapest_of_each_group() -> None:
    basket = Basket([line(1, "COLA", 500), line(2, "JUICE", 300), line(3, "WATER", 100)])
    rule_set = rules(promo("B2G1", MultiBuy(buy=2, get=1, mix=True), ("COLA", "JUICE", "WATER")))
    result = apply_promotions(basket, rule_set, ctx())

    assert result.saving == 100
    assert [entry.line_no for entry in result.lines] == [3]


def test_many_identical_units_are_grouped_without_listing_each() -> None:
    basket = Basket([line(1, "COLA", 350, "100000")])
    result = apply_promotions(
        basket, rules(promo("C3", MultiBuy(buy=3, price=1000), ("COLA",))), ctx()
    )

    assert result.saving == 33333 * 50


def test_overlapping_multi_buys_are_tried_in_every_order() -> None:
    basket = Basket([line(1, "COLA", 400, "2"), line(2, "JUICE", 400, "2")])
    pair = promo("A-PAIR", MultiBuy(buy=2, price=700, mix=True), ("COLA", "JUICE"))
    cola = promo("B-COLA", MultiBuy(buy=2, price=500), ("COLA",))

    # cola pair first (3.00) then a juice pair (1.00) beats two mixed pairs (2 × 1.00)
    assert saving_of(basket, rules(pair, cola)) == 400


def test_orders_are_all_permutations_up_to_the_limit_then_rotations() -> None:
    assert len(orders(list(range(EXACT_ORDERS)))) == 24
    six = orders(list(range(6)))
    assert len(six) == 6
    assert [order[0] for order in six] == list(range(6))


def test_components_group_rules_sharing_an_item() -> None:
    assert components({1: [0, 1], 2: [1], 3: [5], 4: [5, 6], 7: [9]}) == [[1, 2], [3, 4], [7]]


def test_best_independent_prefers_two_disjoint_over_one_large() -> None:
    values = {0: 10, 1: 6, 2: 6}
    masks = {0: 0b111, 1: 0b001, 2: 0b110}

    assert best_independent(values, masks) == [1, 2]


# -- thresholds ---------------------------------------------------------------------------------


def test_two_category_thresholds_apply_together_but_not_with_a_basket_one() -> None:
    basket = Basket([line(1, "COLA", 6000), line(2, "CHIPS", 6000)])
    drinks = Promotion(
        "D",
        {"en": "D"},
        SpendThreshold((Tier(5000, save=600),)),
        Target(categories=frozenset({"drinks"})),
    )
    snacks = Promotion(
        "S",
        {"en": "S"},
        SpendThreshold((Tier(5000, save=600),)),
        Target(categories=frozenset({"snacks"})),
    )
    whole = promo("W", SpendThreshold((Tier(10000, save=1000),)))

    assert saving_of(basket, rules(drinks, snacks, whole)) == 1200
    assert saving_of(basket, rules(drinks, whole)) == 1000


def test_stackable_threshold_adds_to_the_best_one() -> None:
    basket = Basket([line(1, "COLA", 12000)])
    best = promo("B", SpendThreshold((Tier(10000, save=1000),)))
    extra = promo("X", SpendThreshold((Tier(10000, percent=Decimal(5)),)), stacking="stackable")

    assert saving_of(basket, rules(best, extra)) == 1000 + 600


def test_thresholds_larger_than_the_basket_are_capped_at_the_basket() -> None:
    basket = Basket([line(1, "COLA", 1000)])
    a = promo("A", SpendThreshold((Tier(500, save=800),)))
    b = promo("B", SpendThreshold((Tier(500, save=800),)), stacking="stackable")

    assert saving_of(basket, rules(a, b)) == 1000


# -- conditions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "presented", "context", "status"),
    [
        (CouponTerms(code="CP1"), PresentedCoupon("CP1"), {}, "applied"),
        (CouponTerms(code="CP1"), PresentedCoupon("CP2"), {}, "unknown"),
        (
            CouponTerms(code="CP1", valid_from=NOW.date().replace(day=28)),
            PresentedCoupon("CP1"),
            {},
            "not_yet_valid",
        ),
        (CouponTerms(code="CP1", single_use=True), PresentedCoupon("CP1", uses=1), {}, "used"),
        (CouponTerms(code="CP1", max_uses=3), PresentedCoupon("CP1", uses=3), {}, "limit_reached"),
        (CouponTerms(code="CP1", max_uses=3), PresentedCoupon("CP1", uses=2), {}, "applied"),
        (CouponTerms(code="CP1", per_member=1), PresentedCoupon("CP1"), {}, "member_required"),
        (
            CouponTerms(code="CP1", per_member=2),
            PresentedCoupon("CP1"),
            {"member_level": "gold", "member_coupon_uses": {"C": 1}},
            "applied",
        ),
    ],
)
def test_coupon_status_follows_what_the_context_tells(
    terms: CouponTerms, presented: PresentedCoupon, context: dict[str, object], status: str
) -> None:
    rule_set = rules(promo("C", AmountOff(100), ("COLA",), coupon=terms))
    result = apply_promotions(
        Basket([line(1, "COLA", 350)]), rule_set, ctx(coupons=(presented,), **context)
    )

    assert [c.status for c in result.coupons] == [status]
    assert result.saving == (100 if status == "applied" else 0)
    assert result.redeemed_coupons == ((presented.code,) if status == "applied" else ())


def test_coupon_that_the_basket_does_not_qualify_for_reports_no_saving() -> None:
    coupon = CouponTerms(code="CP1")
    rule_set = rules(promo("C", SpendThreshold((Tier(10000, save=500),)), coupon=coupon))
    result = apply_promotions(
        Basket([line(1, "COLA", 350)]), rule_set, ctx(coupons=(PresentedCoupon("CP1"),))
    )

    assert [(c.code, c.status, c.rule_ids) for c in result.coupons] == [
        ("CP1", "no_saving", ("C",))
    ]


def test_coupon_outside_its_promotion_hours_is_not_active() -> None:
    evening = Schedule(hours=((17 * 60, 21 * 60),))
    rule_set = rules(
        promo("C", AmountOff(100), ("COLA",), coupon=CouponTerms(code="CP1"), schedule=evening)
    )
    result = apply_promotions(
        Basket([line(1, "COLA", 350)]), rule_set, ctx(coupons=(PresentedCoupon("CP1"),))
    )

    assert [c.status for c in result.coupons] == ["not_active"]


def test_coupon_adjustment_has_kind_coupon_and_names_the_rule() -> None:
    rule_set = rules(
        Promotion(
            "CP-COLA",
            {"en": "Coupon cola", "zh_CN": "可乐券"},
            AmountOff(100),
            Target(skus=frozenset({"COLA"})),
            coupon=CouponTerms(code="CP1"),
        )
    )
    context = replace(ctx(coupons=(PresentedCoupon("CP1"),)), language="zh_CN")
    result = apply_promotions(Basket([line(1, "COLA", 350)]), rule_set, context)

    assert result.adjustments_for(1) == (Adjustment(-100, "coupon", "可乐券", "CP-COLA"),)
    assert result.applied[0].coupon_code == "CP1"


@pytest.mark.parametrize(
    ("level", "saving"), [(None, 0), ("standard", 0), ("gold", 100), ("silver", 100)]
)
def test_member_levels_limit_who_gets_a_promotion(level: str | None, saving: int) -> None:
    rule_set = rules(
        promo("M", AmountOff(100), ("COLA",), member_levels=frozenset({"gold", "silver"}))
    )

    assert saving_of(Basket([line(1, "COLA", 350)]), rule_set, ctx(member_level=level)) == saving


def test_date_range_includes_its_start_and_excludes_its_end() -> None:
    window = Schedule(start=datetime(2026, 11, 27, 10, 30), end=datetime(2026, 11, 27, 11, 0))

    assert window.is_active(datetime(2026, 11, 27, 10, 30))
    assert window.is_active(datetime(2026, 11, 27, 10, 59))
    assert not window.is_active(datetime(2026, 11, 27, 11, 0))
    assert not window.is_active(datetime(2026, 11, 27, 10, 29))


# -- with_promotions and errors ------------------------------------------------------------------


def test_with_promotions_replaces_old_promotions_and_keeps_manual_adjustments() -> None:
    manual = Adjustment(-50, "discount", "damaged", "E07")
    stale = Adjustment(-999, "promotion", "old", "OLD")
    basket = Basket(
        [line(1, "COLA", 350, "3", adjustments=(manual, stale))],
        adjustments=[Adjustment(-10, "coupon", "old coupon", "OLDC"), manual],
    )
    rule_set = rules(promo("C3", MultiBuy(buy=3, price=1000), ("COLA",)))

    priced = with_promotions(basket, apply_promotions(basket, rule_set, ctx()))

    assert priced.lines[0].adjustments == (manual, Adjustment(-50, "promotion", "C3", "C3"))
    assert priced.adjustments == [manual]
    assert basket.lines[0].adjustments == (manual, stale)  # the input is not changed


def test_with_promotions_refuses_a_result_for_another_basket() -> None:
    rule_set = rules(promo("A", AmountOff(10), ("COLA",)))
    result = apply_promotions(Basket([line(7, "COLA", 350)]), rule_set, ctx())

    with pytest.raises(PromotionError, match="line 7"):
        with_promotions(Basket([line(1, "COLA", 350)]), result)


def test_empty_basket_gets_nothing() -> None:
    result = apply_promotions(
        Basket(), rules(promo("W", SpendThreshold((Tier(1, save=1),)))), ctx()
    )

    assert (result.saving, result.lines, result.applied) == (0, (), ())


def test_duplicate_line_numbers_are_refused() -> None:
    with pytest.raises(LaneError, match="line number 1 twice"):
        apply_promotions(Basket([line(1, "COLA", 350), line(1, "JUICE", 420)]), rules(), ctx())


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (ctx(rounding_mode="up"), "rounding_mode 'up'"),
        (ctx(coupons=(PresentedCoupon(""),)), "empty code"),
        (ctx(coupons=(PresentedCoupon("CP1", uses=-1),)), "'CP1': uses must be 0 or more"),
        (ctx(member_coupon_uses={"C": -1}), r"member_coupon_uses\['C'\]"),
    ],
)
def test_bad_context_is_refused_naming_the_problem(context: PromoContext, message: str) -> None:
    with pytest.raises(PromotionError, match=message):
        apply_promotions(Basket([line(1, "COLA", 350)]), rules(), context)


def test_rules_not_touching_the_basket_are_never_looked_at() -> None:
    many = [promo(f"R{i:05d}", AmountOff(10), (f"OTHER{i}",)) for i in range(2000)]
    rule_set = rules(*many, promo("HIT", AmountOff(10), ("COLA",)))
    result = apply_promotions(Basket([line(1, "COLA", 350)]), rule_set, ctx())

    assert [a.rule_id for a in result.applied] == ["HIT"]
    assert rule_set.by_sku["COLA"] == (rule_set.rank_of("HIT"),)


def test_buy_get_leaves_an_item_with_its_own_discount_out_of_the_group() -> None:
    basket = Basket([line(1, "COLA", 1000), line(2, "JUICE", 500, "3")])
    b2g1 = promo("B2G1", MultiBuy(buy=2, get=1, mix=True), ("COLA", "JUICE"))
    half = promo("HALF", PercentOff(Decimal(50)), ("COLA",))

    result = apply_promotions(basket, rules(b2g1, half), ctx())

    # cola + 2 juices would free a juice (5.00) but lose the cola's 5.00; 3 juices free one
    assert {a.rule_id: a.saving for a in result.applied} == {"B2G1": 500, "HALF": 500}


def test_with_promotions_keeps_every_other_field_of_a_line() -> None:
    full = Line(
        line_no=3,
        sku="COLA",
        names={"en": "Cola", "zh_CN": "可乐"},
        unit="ea",
        qty=Decimal(2),
        unit_price=350,
        tax_code="VAT13",
        gtin="06901234567892",
        age_limit=18,
        batch="L7",
        expiry="2027-01-31",
    )
    rule_set = rules(promo("A", AmountOff(10), ("COLA",)))

    (priced,) = with_promotions(
        Basket([full]), apply_promotions(Basket([full]), rule_set, ctx())
    ).lines

    assert priced == replace(full, adjustments=(Adjustment(-20, "promotion", "A", "A"),))
