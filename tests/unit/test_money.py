"""kiosk.money: minor units, exponents, explicit rounding, no floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.errors import MoneyError
from kiosk.money import (
    Money,
    exponent,
    round_to_increment,
    rounding_mode,
    sum_money,
)


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("12.90", "CNY", 1290),
        (Decimal("12.9"), "CNY", 1290),
        ("1200", "JPY", 1200),
        ("1.234", "KWD", 1234),
        ("-3.00", "EUR", -300),
        ("0", "USD", 0),
    ],
)
def test_from_decimal_gives_minor_units_by_exponent(value: str, currency: str, minor: int) -> None:
    assert Money.from_decimal(value, currency) == Money(minor, currency)


def test_exponents_of_cny_jpy_kwd() -> None:
    assert (exponent("CNY"), exponent("JPY"), exponent("KWD")) == (2, 0, 3)


@pytest.mark.parametrize(
    ("value", "rounding", "minor"),
    [
        ("0.125", "half_up", 13),
        ("0.125", "half_even", 12),
        ("0.135", "half_even", 14),
        ("-0.125", "half_up", -13),
        ("-0.125", "half_even", -12),
    ],
)
def test_from_decimal_rounds_with_named_mode(value: str, rounding: str, minor: int) -> None:
    assert Money.from_decimal(value, "CNY", rounding).minor == minor


def test_from_decimal_rounds_jpy_to_whole_yen() -> None:
    assert Money.from_decimal("99.5", "JPY").minor == 100


def test_from_decimal_refuses_float() -> None:
    with pytest.raises(MoneyError, match="float"):
        Money.from_decimal(12.9, "CNY")  # type: ignore[arg-type]


def test_from_decimal_refuses_text_that_is_not_an_amount() -> None:
    with pytest.raises(MoneyError, match="not an amount"):
        Money.from_decimal("twelve", "CNY")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_from_decimal_refuses_non_finite(value: str) -> None:
    with pytest.raises(MoneyError, match="finite"):
        Money.from_decimal(value, "CNY")


def test_money_refuses_float_minor_units() -> None:
    with pytest.raises(MoneyError, match=r"Money\.minor must be an int.*float"):
        Money(12.9, "CNY")  # type: ignore[arg-type]


def test_money_refuses_bool_minor_units() -> None:
    with pytest.raises(MoneyError, match="bool"):
        Money(True, "CNY")


def test_money_refuses_unknown_currency_naming_it() -> None:
    with pytest.raises(MoneyError, match="'XYZ'"):
        Money(100, "XYZ")


def test_unknown_rounding_mode_is_named() -> None:
    with pytest.raises(MoneyError, match="'ceiling'"):
        rounding_mode("ceiling")


def test_format_plain_uses_the_currency_exponent() -> None:
    assert Money(1290, "CNY").format_plain() == "12.90"
    assert Money(-300, "EUR").format_plain() == "-3.00"
    assert Money(1200, "JPY").format_plain() == "1200"
    assert Money(1234, "KWD").format_plain() == "1.234"
    assert Money(5, "CNY").format_plain() == "0.05"
    assert str(Money(1290, "CNY")) == "12.90 CNY"


def test_to_decimal_is_exact() -> None:
    assert Money(1290, "CNY").to_decimal() == Decimal("12.90")
    assert Money(7, "KWD").to_decimal() == Decimal("0.007")


def test_add_and_subtract_same_currency() -> None:
    assert Money(1290, "CNY") + Money(10, "CNY") == Money(1300, "CNY")
    assert Money(1290, "CNY") - Money(1300, "CNY") == Money(-10, "CNY")
    assert -Money(5, "CNY") == Money(-5, "CNY")


def test_currency_mismatch_is_refused() -> None:
    with pytest.raises(MoneyError, match="currency mismatch: CNY and EUR"):
        Money(100, "CNY") + Money(100, "EUR")
    with pytest.raises(MoneyError, match="currency mismatch"):
        _ = Money(100, "CNY") < Money(100, "USD")


def test_money_does_not_combine_with_a_plain_int() -> None:
    with pytest.raises(MoneyError, match="int"):
        Money(100, "CNY") + 5  # type: ignore[operator]


def test_comparisons_and_zero() -> None:
    assert Money(1, "CNY") > Money(0, "CNY")
    assert Money(0, "CNY") <= Money(0, "CNY")
    assert Money.zero("JPY").is_zero()


def test_sum_money_of_nothing_is_zero() -> None:
    assert sum_money([], "CNY") == Money(0, "CNY")
    assert sum_money([Money(1, "CNY"), Money(2, "CNY")], "CNY") == Money(3, "CNY")


@pytest.mark.parametrize(
    ("minor", "factor", "rounding", "expected"),
    [
        (1580, Decimal("0.735"), "half_up", 1161),  # 1161.3
        (1290, Decimal("2"), "half_up", 2580),
        (5, Decimal("0.5"), "half_up", 3),  # 2.5
        (5, Decimal("0.5"), "half_even", 2),
        (7, Decimal("0.5"), "half_even", 4),  # 3.5
        (-5, Decimal("0.5"), "half_up", -3),
        (100, 3, "half_up", 300),
    ],
)
def test_times_rounds_with_named_mode(
    minor: int, factor: Decimal | int, rounding: str, expected: int
) -> None:
    assert Money(minor, "CNY").times(factor, rounding) == Money(expected, "CNY")


def test_times_refuses_float() -> None:
    with pytest.raises(MoneyError, match="float"):
        Money(100, "CNY").times(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minor", "increment", "expected"),
    [
        (1694, 10, 1690),
        (1695, 10, 1700),
        (1232, 5, 1230),
        (1233, 5, 1235),
        (1237, 5, 1235),
        (1238, 5, 1240),
        (-1694, 10, -1690),
        (-1695, 10, -1700),
        (-1232, 5, -1230),
        (1234, 1, 1234),
        (0, 10, 0),
    ],
)
def test_round_to_increment(minor: int, increment: int, expected: int) -> None:
    assert round_to_increment(minor, increment) == expected


def test_round_to_increment_half_even_ties_to_even_step() -> None:
    assert round_to_increment(15, 10, "half_even") == 20
    assert round_to_increment(25, 10, "half_even") == 20


def test_round_to_increment_refuses_increment_below_one() -> None:
    with pytest.raises(MoneyError, match="at least 1"):
        round_to_increment(100, 0)


def test_round_to_increment_refuses_float_amount() -> None:
    with pytest.raises(MoneyError, match="float"):
        round_to_increment(12.5, 5)  # type: ignore[arg-type]


@given(st.integers(-(10**12), 10**12), st.sampled_from([1, 5, 10, 50, 100]))
def test_round_to_increment_is_a_near_multiple(minor: int, increment: int) -> None:
    rounded = round_to_increment(minor, increment)
    assert rounded % increment == 0
    assert abs(rounded - minor) * 2 <= increment
    assert round_to_increment(-minor, increment) == -rounded


@given(st.integers(-(10**15), 10**15), st.sampled_from(["CNY", "JPY", "KWD"]))
def test_from_decimal_round_trips_to_decimal(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    assert Money.from_decimal(money.to_decimal(), currency) == money
    assert Money.from_decimal(money.format_plain(), currency) == money
