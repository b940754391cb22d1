"""kiosk.pricing: worked examples (the same as docs/pricing.md), properties, and bad input."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.basket import Adjustment, Basket, Line
from kiosk.catalog import Unit
from kiosk.config import CashConfig, TaxConfig
from kiosk.errors import CatalogError, InvalidCommand, LaneError, MoneyError
from kiosk.pricing import Totals, cash_due, line_gross, price_basket
from kiosk.tax import tax_on

DOC = Path(__file__).resolve().parents[2] / "docs" / "pricing.md"

CN = {"VAT13": Decimal("0.13"), "VAT9": Decimal("0.09")}
NYC = {"NYC": Decimal("0.08875"), "FOOD": Decimal("0")}
DE = {"VAT19": Decimal("0.19"), "VAT7": Decimal("0.07")}
CH = {"MWST81": Decimal("0.081"), "MWST26": Decimal("0.026")}
JP = {"JP10": Decimal("0.10"), "JP8": Decimal("0.08")}


def line(
    n: int,
    price: int,
    code: str,
    qty: str = "1",
    unit: Unit = "ea",
    fixed: int | None = None,
    adjustments: tuple[Adjustment, ...] = (),
    voided: bool = False,
) -> Line:
    return Line(
        line_no=n,
        sku=f"sku{n}",
        names={"en": f"item {n}"},
        unit=unit,
        qty=Decimal(qty),
        unit_price=price,
        tax_code=code,
        fixed_amount=fixed,
        adjustments=adjustments,
        voided=voided,
    )


def damaged(amount: int) -> Adjustment:
    return Adjustment(amount, "discount", "damaged packaging", "E07")


@dataclass(frozen=True)
class Example:
    """A worked example: a basket, a config, and every figure the doc shows for it."""

    number: int
    title: str
    currency: str
    tax: TaxConfig
    lines: tuple[Line, ...]
    amounts: tuple[int, ...]
    line_taxes: tuple[int, ...]
    gross: int
    discount: int
    total_tax: int
    due: int
    tax_lines: dict[str, tuple[int, int]]  # code -> (base, tax)
    item_count: int
    basket_adjustments: tuple[Adjustment, ...] = ()
    cash: tuple[int, int, int] | None = None  # increment, payable, delta
    extra: dict[str, int] = field(default_factory=dict)


EXAMPLES = [
    Example(
        1,
        "CNY, 13 % VAT included, tax rounded per line",
        "CNY",
        TaxConfig(codes=CN, rounding="per_line"),
        tuple(line(n, 350, "VAT13") for n in (1, 2, 3)),
        amounts=(350, 350, 350),
        line_taxes=(40, 40, 40),
        gross=1050,
        discount=0,
        total_tax=120,
        due=1050,
        tax_lines={"VAT13": (930, 120)},
        item_count=3,
    ),
    Example(
        2,
        "The same basket, tax rounded per total",
        "CNY",
        TaxConfig(codes=CN, rounding="per_total"),
        tuple(line(n, 350, "VAT13") for n in (1, 2, 3)),
        amounts=(350, 350, 350),
        line_taxes=(41, 40, 40),
        gross=1050,
        discount=0,
        total_tax=121,
        due=1050,
        tax_lines={"VAT13": (929, 121)},
        item_count=3,
    ),
    Example(
        3,
        "CNY, 9 % and 13 % VAT in one basket",
        "CNY",
        TaxConfig(codes=CN),
        (line(1, 5990, "VAT9"), line(2, 3990, "VAT13")),
        amounts=(5990, 3990),
        line_taxes=(495, 459),
        gross=9980,
        discount=0,
        total_tax=954,
        due=9980,
        tax_lines={"VAT13": (3531, 459), "VAT9": (5495, 495)},
        item_count=2,
    ),
    Example(
        4,
        "A weighed item: 0.735 kg at 15.80 per kg, paid in cash rounded to 0.10",
        "CNY",
        TaxConfig(codes=CN),
        (line(1, 1580, "VAT9", qty="0.735", unit="kg"),),
        amounts=(1161,),
        line_taxes=(96,),
        gross=1161,
        discount=0,
        total_tax=96,
        due=1161,
        tax_lines={"VAT9": (1065, 96)},
        item_count=1,
        cash=(10, 1160, -1),
    ),
    Example(
        5,
        "The barcode carries the price",
        "CNY",
        TaxConfig(codes=CN),
        (line(1, 3980, "VAT13", qty="0.589", unit="kg", fixed=2345),),
        amounts=(2345,),
        line_taxes=(270,),
        gross=2345,
        discount=0,
        total_tax=270,
        due=2345,
        tax_lines={"VAT13": (2075, 270)},
        item_count=1,
    ),
    Example(
        6,
        "A manual line discount by an attendant",
        "CNY",
        TaxConfig(codes=CN),
        (line(1, 1290, "VAT13", qty="2", adjustments=(damaged(-300),)),),
        amounts=(2280,),
        line_taxes=(262,),
        gross=2580,
        discount=-300,
        total_tax=262,
        due=2280,
        tax_lines={"VAT13": (2018, 262)},
        item_count=2,
    ),
    Example(
        7,
        "A basket-level coupon spread over the lines",
        "CNY",
        TaxConfig(codes=CN),
        (line(1, 4500, "VAT13"), line(2, 3000, "VAT9"), line(3, 1990, "VAT13")),
        basket_adjustments=(Adjustment(-1000, "coupon", "10 off 90", "CP-10OFF90"),),
        amounts=(4026, 2684, 1780),
        line_taxes=(463, 222, 205),
        gross=9490,
        discount=-1000,
        total_tax=890,
        due=8490,
        tax_lines={"VAT13": (5138, 668), "VAT9": (2462, 222)},
        item_count=3,
    ),
    Example(
        8,
        "A line discount larger than its line",
        "CNY",
        TaxConfig(codes=CN),
        (line(1, 500, "VAT13", adjustments=(damaged(-800),)), line(2, 1000, "VAT13")),
        amounts=(0, 700),
        line_taxes=(0, 81),
        gross=1500,
        discount=-800,
        total_tax=81,
        due=700,
        tax_lines={"VAT13": (619, 81)},
        item_count=2,
    ),
    Example(
        9,
        "A coupon larger than the basket",
        "CNY",
        TaxConfig(codes=CN),
        (line(1, 1000, "VAT13"), line(2, 2000, "VAT9")),
        basket_adjustments=(Adjustment(-5000, "coupon", "50 off", "CP-50OFF"),),
        amounts=(0, 0),
        line_taxes=(0, 0),
        gross=3000,
        discount=-3000,
        total_tax=0,
        due=0,
        tax_lines={"VAT13": (0, 0), "VAT9": (0, 0)},
        item_count=2,
    ),
    Example(
        10,
        "USD, 8.875 % sales tax added, rounded per total",
        "USD",
        TaxConfig(mode="exclusive", rounding="per_total", codes=NYC),
        (line(1, 499, "NYC"), line(2, 249, "NYC"), line(3, 1299, "NYC"), line(4, 329, "FOOD")),
        amounts=(499, 249, 1299, 329),
        line_taxes=(44, 22, 116, 0),
        gross=2376,
        discount=0,
        total_tax=182,
        due=2558,
        tax_lines={"FOOD": (329, 0), "NYC": (2047, 182)},
        item_count=4,
    ),
    Example(
        11,
        "The same USD basket, rounded per line",
        "USD",
        TaxConfig(mode="exclusive", rounding="per_line", codes=NYC),
        (line(1, 499, "NYC"), line(2, 249, "NYC"), line(3, 1299, "NYC"), line(4, 329, "FOOD")),
        amounts=(499, 249, 1299, 329),
        line_taxes=(44, 22, 115, 0),
        gross=2376,
        discount=0,
        total_tax=181,
        due=2557,
        tax_lines={"FOOD": (329, 0), "NYC": (2047, 181)},
        item_count=4,
    ),
    Example(
        12,
        "EUR, 19 % and 7 % VAT included",
        "EUR",
        TaxConfig(codes=DE),
        (line(1, 899, "VAT19"), line(2, 249, "VAT7"), line(3, 199, "VAT7")),
        amounts=(899, 249, 199),
        line_taxes=(144, 16, 13),
        gross=1347,
        discount=0,
        total_tax=173,
        due=1347,
        tax_lines={"VAT19": (755, 144), "VAT7": (419, 29)},
        item_count=3,
    ),
    Example(
        13,
        "CNY cash rounding up to 0.10",
        "CNY",
        TaxConfig(codes=CN),
        (line(1, 450, "VAT13", qty="2"), line(2, 795, "VAT9")),
        amounts=(900, 795),
        line_taxes=(104, 66),
        gross=1695,
        discount=0,
        total_tax=170,
        due=1695,
        tax_lines={"VAT13": (796, 104), "VAT9": (729, 66)},
        item_count=3,
        cash=(10, 1700, 5),
    ),
    Example(
        14,
        "CHF cash rounding to 0.05, rounding down",
        "CHF",
        TaxConfig(codes=CH),
        (line(1, 795, "MWST81"), line(2, 437, "MWST26")),
        amounts=(795, 437),
        line_taxes=(60, 11),
        gross=1232,
        discount=0,
        total_tax=71,
        due=1232,
        tax_lines={"MWST26": (426, 11), "MWST81": (735, 60)},
        item_count=2,
        cash=(5, 1230, -2),
    ),
    Example(
        15,
        "JPY (no minor unit), 8 % and 10 % consumption tax per total",
        "JPY",
        TaxConfig(rounding="per_total", codes=JP),
        (line(1, 160, "JP8"), line(2, 148, "JP8", qty="2"), line(3, 248, "JP10")),
        amounts=(160, 296, 248),
        line_taxes=(12, 22, 23),
        gross=704,
        discount=0,
        total_tax=57,
        due=704,
        tax_lines={"JP10": (225, 23), "JP8": (422, 34)},
        item_count=4,
    ),
]


def price(example: Example) -> Totals:
    basket = Basket(list(example.lines), list(example.basket_adjustments))
    return price_basket(basket, example.tax, example.currency)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"example{e.number}")
def test_worked_example_gives_documented_figures(example: Example) -> None:
    totals = price(example)
    assert tuple(p.amount for p in totals.lines) == example.amounts
    assert tuple(p.tax for p in totals.lines) == example.line_taxes
    assert (totals.gross, totals.discount, totals.tax, totals.due) == (
        example.gross,
        example.discount,
        example.total_tax,
        example.due,
    )
    assert {t.code: (t.base, t.tax) for t in totals.taxes} == example.tax_lines
    assert [t.code for t in totals.taxes] == sorted(example.tax_lines)
    assert totals.item_count == example.item_count
    assert totals.currency == example.currency
    assert totals.tax_mode == example.tax.mode
    if example.cash is not None:
        increment, payable, delta = example.cash
        assert cash_due(totals.due, CashConfig(rounding_increment=increment)) == (payable, delta)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"example{e.number}")
def test_docs_show_each_worked_example(example: Example) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"### Example {example.number}: {example.title}\n" in text


def test_per_line_and_per_total_differ_by_one_fen_in_examples_1_and_2() -> None:
    assert price(EXAMPLES[1]).tax - price(EXAMPLES[0]).tax == 1


def test_fixed_amount_wins_over_unit_price_times_qty() -> None:
    example = EXAMPLES[4]
    assert 3980 * Decimal("0.589") == Decimal("2344.220")
    assert line_gross(example.lines[0], "CNY") == 2345


def test_line_gross_rounds_with_the_configured_mode() -> None:
    half = line(1, 5, "VAT13", qty="0.5", unit="kg")  # 2.5 fen
    assert line_gross(half, "CNY", "half_up") == 3
    assert line_gross(half, "CNY", "half_even") == 2


def test_voided_lines_are_not_priced() -> None:
    basket = Basket([line(1, 1000, "VAT13"), line(2, 500, "VAT13", voided=True)])
    totals = price_basket(basket, TaxConfig(), "CNY")
    assert [p.line_no for p in totals.lines] == [1]
    assert totals.due == 1000


def test_empty_basket_with_coupon_owes_nothing() -> None:
    basket = Basket([line(1, 1000, "VAT13", voided=True)], [Adjustment(-500, "coupon", "", "c")])
    totals = price_basket(basket, TaxConfig(), "CNY")
    assert (totals.gross, totals.discount, totals.tax, totals.due, totals.item_count) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert totals.lines == ()
    assert totals.taxes == ()


def test_basket_surcharge_is_spread_like_a_discount() -> None:
    basket = Basket(
        [line(1, 1000, "VAT13"), line(2, 3000, "VAT13")],
        [Adjustment(100, "price_override", "bag", "E07")],
    )
    totals = price_basket(basket, TaxConfig(), "CNY")
    assert [p.discount for p in totals.lines] == [25, 75]
    assert totals.due == 4100


def test_price_override_upwards_raises_the_line() -> None:
    raised = Adjustment(200, "price_override", "shelf label", "E07")
    basket = Basket([line(1, 1000, "VAT13", adjustments=(raised,))])
    totals = price_basket(basket, TaxConfig(), "CNY")
    assert (totals.lines[0].amount, totals.discount) == (1200, 200)


def test_unknown_tax_code_names_product_and_code() -> None:
    basket = Basket([line(1, 100, "VAT6")])
    with pytest.raises(CatalogError, match="product sku1 has tax code 'VAT6'"):
        price_basket(basket, TaxConfig(), "CNY")


def test_unknown_currency_is_refused_even_for_an_empty_basket() -> None:
    with pytest.raises(MoneyError, match="'XXX'"):
        price_basket(Basket(), TaxConfig(), "XXX")


def test_float_quantity_is_refused() -> None:
    bad = replace(line(1, 100, "VAT13"), qty=1.5)
    with pytest.raises(MoneyError, match="line 1: quantity must be a Decimal, got float"):
        price_basket(Basket([bad]), TaxConfig(), "CNY")


def test_fractional_each_quantity_is_refused() -> None:
    with pytest.raises(InvalidCommand, match=r"line 1: quantity 1\.5 .* whole number"):
        price_basket(Basket([line(1, 100, "VAT13", qty="1.5")]), TaxConfig(), "CNY")


def test_negative_quantity_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="line 1: quantity -1 must be 0 or more"):
        price_basket(Basket([line(1, 100, "VAT13", qty="-1")]), TaxConfig(), "CNY")


def test_duplicate_line_number_is_refused() -> None:
    with pytest.raises(LaneError, match="line number 1 twice"):
        price_basket(Basket([line(1, 100, "VAT13"), line(1, 200, "VAT13")]), TaxConfig(), "CNY")


def test_float_adjustment_is_refused() -> None:
    bad = Adjustment(-1.5, "discount", "x", "E07")  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="float"):
        price_basket(Basket([line(1, 100, "VAT13", adjustments=(bad,))]), TaxConfig(), "CNY")


def test_cash_due_without_rounding_is_the_due() -> None:
    assert cash_due(1234, CashConfig()) == (1234, 0)


def test_cash_due_rounds_negative_amounts_symmetrically() -> None:
    assert cash_due(-1694, CashConfig(rounding_increment=10)) == (-1690, 4)


# -- properties ---------------------------------------------------------------------------------

CODES = {"A": Decimal("0.13"), "B": Decimal("0.09"), "C": Decimal("0.08875"), "Z": Decimal(0)}

adjustments = st.lists(
    st.builds(
        Adjustment,
        amount=st.integers(-20_000, 5_000),
        kind=st.sampled_from(["discount", "price_override", "promotion", "coupon"]),
        reason=st.just("r"),
        source=st.just("s"),
    ),
    max_size=2,
)


@st.composite
def lines(draw: st.DrawFn, n: int) -> Line:
    unit: Unit = draw(st.sampled_from(["ea", "kg"]))
    if unit == "ea":
        qty = Decimal(draw(st.integers(0, 20)))
    else:
        qty = Decimal(draw(st.integers(0, 9_999))).scaleb(-3)
    fixed = draw(st.one_of(st.none(), st.integers(0, 50_000)))
    return Line(
        line_no=n,
        sku=f"s{n}",
        names={"en": "x"},
        unit=unit,
        qty=qty,
        unit_price=draw(st.integers(0, 100_000)),
        tax_code=draw(st.sampled_from(sorted(CODES))),
        fixed_amount=fixed,
        adjustments=tuple(draw(adjustments)),
        voided=draw(st.booleans()),
    )


@st.composite
def baskets(draw: st.DrawFn) -> Basket:
    count = draw(st.integers(0, 8))
    return Basket([draw(lines(n)) for n in range(1, count + 1)], draw(adjustments))


configs = st.builds(
    TaxConfig,
    mode=st.sampled_from(["inclusive", "exclusive"]),
    rounding=st.sampled_from(["per_line", "per_total"]),
    rounding_mode=st.sampled_from(["half_up", "half_even"]),
    codes=st.just(CODES),
)


@given(baskets(), configs)
def test_totals_add_up(basket: Basket, tax: TaxConfig) -> None:
    totals = price_basket(basket, tax, "CNY")
    amount = sum(p.amount for p in totals.lines)
    assert totals.due == amount + (totals.tax if tax.mode == "exclusive" else 0)
    assert totals.gross + totals.discount == amount
    assert totals.gross == sum(p.gross for p in totals.lines)
    assert totals.discount == sum(p.discount for p in totals.lines)
    assert all(p.gross + p.discount == p.amount for p in totals.lines)
    assert all(p.amount >= 0 for p in totals.lines)
    assert totals.tax == sum(p.tax for p in totals.lines) == sum(t.tax for t in totals.taxes)
    for t in totals.taxes:
        code_amount = sum(p.amount for p in totals.lines if p.tax_code == t.code)
        assert t.base == (code_amount - t.tax if tax.mode == "inclusive" else code_amount)
        assert t.rate == CODES[t.code]
    assert {t.code for t in totals.taxes} == {p.tax_code for p in totals.lines}
    assert [p.line_no for p in totals.lines] == [ln.line_no for ln in basket.active_lines()]


@given(baskets(), configs)
def test_no_float_reaches_money(basket: Basket, tax: TaxConfig) -> None:
    totals = price_basket(basket, tax, "CNY")
    figures = [totals.gross, totals.discount, totals.tax, totals.due, totals.item_count]
    for p in totals.lines:
        figures += [p.gross, p.discount, p.amount, p.tax]
    for t in totals.taxes:
        figures += [t.base, t.tax]
    assert all(type(figure) is int for figure in figures)
    assert all(isinstance(t.rate, Decimal) for t in totals.taxes)


@given(baskets(), configs)
def test_per_line_tax_recomputed_from_lines_gives_the_same_figure(
    basket: Basket, tax: TaxConfig
) -> None:
    per_line = replace(tax, rounding="per_line")
    totals = price_basket(basket, per_line, "CNY")
    recomputed = sum(
        tax_on(p.amount, CODES[p.tax_code], tax.mode, tax.rounding_mode) for p in totals.lines
    )
    assert recomputed == totals.tax


@given(baskets(), configs)
def test_per_total_tax_is_each_code_total_taxed_once(basket: Basket, tax: TaxConfig) -> None:
    per_total = replace(tax, rounding="per_total")
    totals = price_basket(basket, per_total, "CNY")
    for t in totals.taxes:
        code_amount = sum(p.amount for p in totals.lines if p.tax_code == t.code)
        assert t.tax == tax_on(code_amount, t.rate, tax.mode, tax.rounding_mode)


@given(baskets(), configs)
def test_per_total_differs_from_per_line_by_at_most_one_unit_per_line(
    basket: Basket, tax: TaxConfig
) -> None:
    a = price_basket(basket, replace(tax, rounding="per_line"), "CNY")
    b = price_basket(basket, replace(tax, rounding="per_total"), "CNY")
    assert [p.amount for p in a.lines] == [p.amount for p in b.lines]
    assert abs(a.tax - b.tax) <= len(a.lines)


@given(baskets(), configs)
def test_voiding_every_line_gives_zero_totals(basket: Basket, tax: TaxConfig) -> None:
    voided = Basket([replace(ln, voided=True) for ln in basket.lines], basket.adjustments)
    totals = price_basket(voided, tax, "CNY")
    assert (totals.gross, totals.discount, totals.tax, totals.due, totals.item_count) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert totals.lines == ()
    assert totals.taxes == ()


@given(baskets(), configs, st.randoms(use_true_random=False))
def test_line_order_does_not_change_totals(
    basket: Basket, tax: TaxConfig, rnd: random.Random
) -> None:
    shuffled_lines = list(basket.lines)
    rnd.shuffle(shuffled_lines)
    shuffled_adjustments = list(basket.adjustments)
    rnd.shuffle(shuffled_adjustments)
    a = price_basket(basket, tax, "CNY")
    b = price_basket(Basket(shuffled_lines, shuffled_adjustments), tax, "CNY")
    assert (a.gross, a.discount, a.tax, a.due, a.item_count, a.taxes) == (
        b.gross,
        b.discount,
        b.tax,
        b.due,
        b.item_count,
        b.taxes,
    )
    assert sorted(a.lines, key=lambda p: p.line_no) == sorted(b.lines, key=lambda p: p.line_no)


@given(baskets(), configs)
def test_discount_never_takes_the_basket_below_zero(basket: Basket, tax: TaxConfig) -> None:
    totals = price_basket(basket, tax, "CNY")
    assert totals.due >= 0
    own = [
        max(p.gross + sum(a.amount for a in ln.adjustments), 0)
        for p, ln in zip(totals.lines, basket.active_lines(), strict=True)
    ]
    requested = sum(a.amount for a in basket.adjustments) + sum(
        min(p.gross + sum(a.amount for a in ln.adjustments), 0)
        for p, ln in zip(totals.lines, basket.active_lines(), strict=True)
    )
    if totals.lines:
        expected = sum(own) + max(requested, -sum(own))
        assert sum(p.amount for p in totals.lines) == expected


@given(baskets())
def test_item_count_counts_each_items_and_one_per_weighed_line(basket: Basket) -> None:
    totals = price_basket(basket, TaxConfig(codes=CODES), "CNY")
    expected = sum(int(ln.qty) if ln.unit == "ea" else 1 for ln in basket.active_lines())
    assert totals.item_count == expected


def test_a_rounding_unit_of_the_pool_lands_on_the_same_line_whatever_the_scan_order() -> None:
    """Two lines that cost the same (2 x 1.00 and 1 x 2.00 of one SKU) share a 1-fen pool
    (a line discounted below zero): the fen goes to the same one scanned either way."""
    below_zero = replace(line(9, 1, "VAT13", adjustments=(damaged(-2),)), sku="B")

    def amounts(first: int, second: int) -> dict[tuple[str, int], int]:
        pair = replace(line(first, 100, "VAT13", qty="2"), sku="A")
        single = replace(line(second, 200, "VAT13"), sku="A")
        totals = price_basket(Basket([below_zero, pair, single]), TaxConfig(), "CNY")
        by_no = {p.line_no: p.amount for p in totals.lines}
        return {("pair", 2): by_no[first], ("single", 1): by_no[second]}

    assert amounts(1, 2) == amounts(2, 1) == {("pair", 2): 199, ("single", 1): 200}
