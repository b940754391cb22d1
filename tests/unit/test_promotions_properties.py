"""Properties of the promotion engine, over random baskets and random rule sets (hypothesis).

- no line and no total is ever negative, and price_basket never has to cut a promotion;
- the chosen combination saves at least as much as any one applicable rule alone;
- the order of scanning (line order and line numbers) never changes a figure;
- applying the result and re-running the engine changes nothing (idempotent);
- the order rules are listed in never changes the result.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.basket import Adjustment, Basket, Line
from kiosk.config import TaxConfig
from kiosk.pricing import line_gross, price_basket
from kiosk.promotions import (
    AmountOff,
    FixedPrice,
    MultiBuy,
    PercentOff,
    PromoContext,
    Promotion,
    RuleSet,
    SpendThreshold,
    Target,
    Tier,
    apply_promotions,
    with_promotions,
)

SKUS = ("A", "B", "C", "D", "E")
CATEGORIES = {"A": "x", "B": "x", "C": "y", "D": "y"}  # E has no category
CONTEXT = PromoContext(now=datetime(2026, 11, 27, 10, 30), categories=CATEGORIES, language="en")
TAXES = (
    TaxConfig(),
    TaxConfig(rounding="per_total"),
    TaxConfig(mode="exclusive", codes={"VAT13": Decimal("0.08875"), "VAT9": Decimal("0")}),
)

percent = st.integers(1, 100).map(Decimal) | st.sampled_from([Decimal("12.5"), Decimal("33.3")])
offers = st.one_of(
    percent.map(PercentOff),
    st.integers(1, 600).map(AmountOff),
    st.integers(0, 1500).map(FixedPrice),
    st.builds(
        lambda buy, price, mix: MultiBuy(buy=buy, price=price, mix=mix),
        st.integers(1, 4),
        st.integers(0, 3000),
        st.booleans(),
    ),
    st.builds(
        lambda buy, get, pct: MultiBuy(buy=buy, get=get, percent=pct),
        st.integers(1, 3),
        st.integers(1, 2),
        percent,
    ),
)
tiers = st.lists(
    st.tuples(st.integers(1, 3000), st.integers(1, 800) | percent), min_size=1, max_size=3
).map(
    lambda raw: tuple(
        Tier(spend, save=value) if isinstance(value, int) else Tier(spend, percent=value)
        for spend, value in sorted({spend: value for spend, value in raw}.items())
    )
)
thresholds = st.one_of(
    tiers.map(SpendThreshold),
    st.builds(
        lambda spend, save, times: SpendThreshold(
            (Tier(spend, save=save),), every=True, max_times=times
        ),
        st.integers(1, 2000),
        st.integers(1, 500),
        st.integers(0, 3),
    ),
)
item_targets = st.one_of(
    st.sets(st.sampled_from(SKUS), min_size=1, max_size=3).map(lambda s: Target(skus=frozenset(s))),
    st.sampled_from(["x", "y"]).map(lambda c: Target(categories=frozenset({c}))),
)
threshold_targets = st.one_of(st.just(Target()), item_targets)
stacking = st.sampled_from(["best", "best", "stackable", "exclusive"])


@st.composite
def promotions(draw: st.DrawFn) -> list[Promotion]:
    count = draw(st.integers(0, 6))
    rules = []
    for i in range(count):
        if draw(st.integers(0, 3)) == 0:
            offer, target = draw(thresholds), draw(threshold_targets)
        else:
            offer, target = draw(offers), draw(item_targets)
        rules.append(
            Promotion(
                f"R{i}",
                {"en": f"rule {i}"},
                offer,
                target,
                stacking=draw(stacking),
                priority=draw(st.integers(0, 2)),
            )
        )
    return rules


@st.composite
def baskets(draw: st.DrawFn, manual: bool = False) -> Basket:
    count = draw(st.integers(0, 7))
    prices = {sku: draw(st.integers(1, 2000)) for sku in SKUS}
    lines = []
    for n in range(1, count + 1):
        sku = draw(st.sampled_from(SKUS))
        weighed = draw(st.integers(0, 5)) == 0
        qty = (
            Decimal(draw(st.integers(1, 3000))) / 1000
            if weighed
            else Decimal(draw(st.integers(1, 6)))
        )
        adjustments: tuple[Adjustment, ...] = ()
        if manual and draw(st.booleans()):
            adjustments = (Adjustment(-draw(st.integers(1, 3000)), "discount", "damaged", "E07"),)
        lines.append(
            Line(
                line_no=n,
                sku=sku,
                names={"en": sku},
                unit="kg" if weighed else "ea",
                qty=qty,
                unit_price=prices[sku],
                tax_code="VAT9" if sku in "CE" else "VAT13",
                adjustments=adjustments,
                voided=draw(st.integers(0, 9)) == 0,
            )
        )
    return Basket(lines=lines)


def promo_total(line: Line) -> int:
    return sum(a.amount for a in line.adjustments if a.kind in ("promotion", "coupon"))


@settings(max_examples=300, deadline=None)
@given(baskets(manual=True), promotions(), st.sampled_from(TAXES))
def test_no_line_and_no_total_is_ever_negative(
    basket: Basket, rules: list[Promotion], tax: TaxConfig
) -> None:
    result = apply_promotions(basket, RuleSet(rules, currency="CNY"), CONTEXT)
    priced = with_promotions(basket, result)

    for line in priced.active_lines():
        gross = line_gross(line, "CNY")
        manual = sum(a.amount for a in line.adjustments) - promo_total(line)
        assert all(a.amount < 0 for a in line.adjustments if a.kind == "promotion")
        assert -promo_total(line) <= max(gross + manual, 0)
    totals = price_basket(priced, tax, "CNY")
    assert totals.due >= 0
    assert all(p.amount >= 0 for p in totals.lines)
    assert result.saving == -sum(promo_total(line) for line in priced.lines)


@settings(max_examples=300, deadline=None)
@given(baskets(), promotions())
def test_price_basket_keeps_every_promotion_whole(basket: Basket, rules: list[Promotion]) -> None:
    result = apply_promotions(basket, RuleSet(rules, currency="CNY"), CONTEXT)
    totals = price_basket(with_promotions(basket, result), TaxConfig(), "CNY")

    assert totals.discount == -result.saving
    assert totals.gross - result.saving == totals.due


@settings(max_examples=400, deadline=None)
@given(baskets(), promotions())
def test_combination_is_at_least_as_good_as_any_single_rule_alone(
    basket: Basket, rules: list[Promotion]
) -> None:
    combined = apply_promotions(basket, RuleSet(rules, currency="CNY"), CONTEXT).saving

    for rule in rules:
        alone = apply_promotions(basket, RuleSet([rule], currency="CNY"), CONTEXT).saving
        assert combined >= alone, rule.id


@settings(max_examples=300, deadline=None)
@given(
    baskets(manual=True), promotions(), st.sampled_from(TAXES), st.randoms(use_true_random=False)
)
def test_order_of_scanning_never_changes_a_figure(
    basket: Basket, rules: list[Promotion], tax: TaxConfig, rng: random.Random
) -> None:
    rule_set = RuleSet(rules, currency="CNY")
    shuffled = list(basket.lines)
    rng.shuffle(shuffled)
    numbers = rng.sample(range(1, 100), len(shuffled))
    rescanned = Basket(
        [replace(line, line_no=n) for line, n in zip(shuffled, numbers, strict=True)]
    )

    def figures(b: Basket) -> tuple[object, ...]:
        result = apply_promotions(b, rule_set, CONTEXT)
        totals = price_basket(with_promotions(b, result), tax, "CNY")
        by_line = {line.line_no: line for line in b.lines}
        # with tax rounded per total, price_basket spreads each code's tax over the lines in
        # line-number order: the totals cannot change, which line carries a fen can
        lines = Counter(
            (by_line[p.line_no].sku, by_line[p.line_no].qty, p.amount)
            + ((p.tax,) if tax.rounding == "per_line" else ())
            for p in totals.lines
        )
        savings = sorted((a.rule_id, a.saving) for a in result.applied)
        return (
            result.saving,
            savings,
            totals.gross,
            totals.discount,
            totals.tax,
            totals.due,
            lines,
        )

    assert figures(rescanned) == figures(basket)


@settings(max_examples=300, deadline=None)
@given(baskets(manual=True), promotions())
def test_applying_twice_is_the_same_as_once(basket: Basket, rules: list[Promotion]) -> None:
    rule_set = RuleSet(rules, currency="CNY")
    first = apply_promotions(basket, rule_set, CONTEXT)
    once = with_promotions(basket, first)

    second = apply_promotions(once, rule_set, CONTEXT)

    assert second == first
    assert with_promotions(once, second) == once


@settings(max_examples=200, deadline=None)
@given(baskets(), promotions(), st.randoms(use_true_random=False))
def test_listing_order_of_the_rules_never_changes_the_result(
    basket: Basket, rules: list[Promotion], rng: random.Random
) -> None:
    shuffled = list(rules)
    rng.shuffle(shuffled)

    assert apply_promotions(basket, RuleSet(shuffled, currency="CNY"), CONTEXT) == apply_promotions(
        basket, RuleSet(rules, currency="CNY"), CONTEXT
    )
