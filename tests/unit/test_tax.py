"""kiosk.tax: inclusive and exclusive tax on minor units, rate lookup, allocation."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.config import TaxConfig
from kiosk.errors import CatalogError, MoneyError
from kiosk.tax import (
    allocate,
    base_of,
    exclusive_tax,
    inclusive_tax,
    rate_for,
    tax_on,
)

RATES = st.sampled_from(
    [Decimal(r) for r in ("0", "0.06", "0.09", "0.13", "0.07", "0.19", "0.08875", "0.081")]
)


@pytest.mark.parametrize(
    ("amount", "rate", "tax"),
    [
        (2280, "0.13", 262),  # 2280 × 13/113 = 262.30
        (350, "0.13", 40),  # 40.27
        (1050, "0.13", 121),  # 120.80
        (5990, "0.09", 495),  # 494.59
        (899, "0.19", 144),  # 143.54
        (249, "0.07", 16),  # 16.29
        (113, "0.13", 13),  # exactly 13
        (0, "0.13", 0),
        (-2280, "0.13", -262),
        (1000, "0", 0),
    ],
)
def test_inclusive_tax_is_amount_times_r_over_one_plus_r(amount: int, rate: str, tax: int) -> None:
    assert inclusive_tax(amount, Decimal(rate)) == tax


@pytest.mark.parametrize(
    ("amount", "rate", "tax"),
    [
        (2047, "0.08875", 182),  # 181.67
        (499, "0.08875", 44),  # 44.29
        (1299, "0.08875", 115),  # 115.29
        (1000, "0.0625", 63),  # 62.5 half up
        (-1000, "0.0625", -63),
    ],
)
def test_exclusive_tax_is_amount_times_r(amount: int, rate: str, tax: int) -> None:
    assert exclusive_tax(amount, Decimal(rate)) == tax


def test_half_even_rounds_ties_to_even() -> None:
    assert exclusive_tax(1000, Decimal("0.0625"), "half_even") == 62
    assert exclusive_tax(1000, Decimal("0.0625"), "half_up") == 63
    # 565 × 0.13 / 1.13 = 65 exactly; 1130 × 0.13 / 1.13 = 130: no tie ambiguity at all
    assert inclusive_tax(565, Decimal("0.13"), "half_even") == 65


def test_tax_on_dispatches_on_mode() -> None:
    assert tax_on(2280, Decimal("0.13"), "inclusive") == 262
    assert tax_on(2280, Decimal("0.13"), "exclusive") == 296


def test_tax_on_refuses_unknown_mode() -> None:
    with pytest.raises(MoneyError, match="'net'"):
        tax_on(100, Decimal("0.1"), "net")  # type: ignore[arg-type]


def test_tax_refuses_float_amount_and_rate() -> None:
    with pytest.raises(MoneyError, match="float"):
        inclusive_tax(10.0, Decimal("0.13"))  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="Decimal"):
        exclusive_tax(100, 0.13)  # type: ignore[arg-type]


def test_tax_refuses_negative_rate() -> None:
    with pytest.raises(MoneyError, match="at least 0"):
        inclusive_tax(100, Decimal("-0.1"))


def test_tax_refuses_unknown_rounding_mode() -> None:
    with pytest.raises(MoneyError, match="'down'"):
        inclusive_tax(100, Decimal("0.1"), "down")


def test_base_of_depends_on_mode() -> None:
    assert base_of(2280, 262, "inclusive") == 2018
    assert base_of(2280, 296, "exclusive") == 2280


def test_rate_for_known_code() -> None:
    assert rate_for(TaxConfig(), "VAT9") == Decimal("0.09")


def test_rate_for_unknown_code_names_product_and_code() -> None:
    with pytest.raises(CatalogError, match=r"product 100234 has tax code 'VAT6' that the store"):
        rate_for(TaxConfig(), "VAT6", "100234")


@given(st.integers(-(10**12), 10**12), RATES)
def test_inclusive_tax_is_the_exact_value_rounded(amount: int, rate: Decimal) -> None:
    exact = Fraction(amount) * Fraction(rate) / (1 + Fraction(rate))
    tax = inclusive_tax(amount, rate)
    assert abs(Fraction(tax) - exact) <= Fraction(1, 2)
    assert isinstance(tax, int)
    assert inclusive_tax(-amount, rate) == -tax


@given(st.integers(-(10**12), 10**12), RATES)
def test_exclusive_tax_is_the_exact_value_rounded(amount: int, rate: Decimal) -> None:
    exact = Fraction(amount) * Fraction(rate)
    tax = exclusive_tax(amount, rate)
    assert abs(Fraction(tax) - exact) <= Fraction(1, 2)
    assert exclusive_tax(-amount, rate) == -tax


# -- allocate ----------------------------------------------------------------------------------


def test_allocate_largest_remainder_example() -> None:
    # 1000 over 4500 / 3000 / 1990: exact shares 474.18, 316.12, 209.69 -> the .69 gets the unit
    assert allocate(1000, [4500, 3000, 1990]) == [474, 316, 210]


def test_allocate_ties_go_to_the_earlier_part() -> None:
    assert allocate(121, [350, 350, 350]) == [41, 40, 40]
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]


def test_allocate_negative_total_mirrors_positive() -> None:
    assert allocate(-1000, [4500, 3000, 1990]) == [-474, -316, -210]


def test_allocate_gives_zero_weights_nothing() -> None:
    assert allocate(7, [0, 3, 0, 4]) == [0, 3, 0, 4]
    assert allocate(5, [0, 1, 1]) == [0, 3, 2]


def test_allocate_all_zero_weights_splits_evenly() -> None:
    assert allocate(10, [0, 0, 0]) == [4, 3, 3]


def test_allocate_zero_total_and_no_parts() -> None:
    assert allocate(0, []) == []
    assert allocate(0, [1, 2]) == [0, 0]


def test_allocate_refuses_total_over_no_parts() -> None:
    with pytest.raises(MoneyError, match="no parts"):
        allocate(5, [])


def test_allocate_refuses_negative_weight_naming_it() -> None:
    with pytest.raises(MoneyError, match="weight 1 is -3"):
        allocate(5, [1, -3])


def test_allocate_refuses_float() -> None:
    with pytest.raises(MoneyError, match="float"):
        allocate(5.0, [1])  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="weight 0 must be an int"):
        allocate(5, [1.0])  # type: ignore[list-item]


@given(
    st.integers(-(10**9), 10**9),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=30),
)
def test_allocate_sums_exactly_and_stays_within_one_unit(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    effective = weights if any(weights) else [1] * len(weights)
    whole = sum(effective)
    for part, weight in zip(parts, effective, strict=True):
        assert abs(Fraction(part) - Fraction(total * weight, whole)) < 1
        assert isinstance(part, int)
        if weight == 0:
            assert part == 0
    assert allocate(total, weights) == parts
    assert allocate(-total, weights) == [-p for p in parts]


@given(st.integers(0, 10**6), st.lists(st.integers(0, 10**6), min_size=1, max_size=30))
def test_allocate_of_at_most_the_weights_never_exceeds_a_weight(
    fraction_of: int, weights: list[int]
) -> None:
    whole = sum(weights)
    total = fraction_of % (whole + 1)
    for part, weight in zip(allocate(-total, weights), weights, strict=True):
        assert -weight <= part <= 0


def test_a_kept_result_is_never_given_for_a_bool_or_a_float_amount() -> None:
    assert tax_on(1, Decimal("0.13"), "exclusive") == 0  # now kept
    with pytest.raises(MoneyError, match="bool"):
        tax_on(True, Decimal("0.13"), "exclusive")
    with pytest.raises(MoneyError, match="float"):
        tax_on(1.0, Decimal("0.13"), "exclusive")  # type: ignore[arg-type]
