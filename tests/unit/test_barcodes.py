"""Unit tests for kiosk.barcodes: symbologies, variable measure, GS1 strings, patterns, errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.barcodes import (
    CouponScan,
    InvalidScan,
    MemberScan,
    ProductScan,
    ReceiptScan,
    StaffBadgeScan,
    Symbology,
    VariableMeasureScan,
    WalletScan,
    check_digit,
    classify,
    expand_upce,
    gtin14,
)
from kiosk.config import BarcodeConfig, VariableMeasureLayout
from kiosk.errors import ConfigError

CFG = BarcodeConfig()
TODAY = date(2026, 6, 15)
GS = "\x1d"
GTIN = "09501101530003"  # GS1's own example GTIN-13, as GTIN-14
RESULT_TYPES = (
    ProductScan,
    VariableMeasureScan,
    StaffBadgeScan,
    MemberScan,
    CouponScan,
    WalletScan,
    ReceiptScan,
    InvalidScan,
)


def scan(raw: str, config: BarcodeConfig = CFG, currency_exponent: int = 2) -> object:
    return classify(raw, config, TODAY, currency_exponent)


def invalid_reason(raw: str, config: BarcodeConfig = CFG) -> str:
    result = scan(raw, config)
    assert isinstance(result, InvalidScan), result
    return result.reason


# --- check digits and GTIN normalisation -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        ("400638133393", "1"),  # EAN-13 4006381333931
        ("950110153000", "3"),  # EAN-13 9501101530003
        ("9638507", "4"),  # EAN-8 96385074
        ("03600029145", "2"),  # UPC-A 036000291452
        ("1950110153000", "0"),  # GTIN-14 19501101530000, worked by hand
    ],
)
def test_check_digit_matches_published_examples(body: str, digit: str) -> None:
    assert check_digit(body) == digit


@pytest.mark.parametrize("body", ["", "12a4", "١٢٣", " 123"])
def test_check_digit_rejects_body_that_is_not_ascii_digits(body: str) -> None:
    with pytest.raises(ValueError, match="digits 0-9"):
        check_digit(body)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("96385074", "00000096385074"),
        ("036000291452", "00036000291452"),
        ("4006381333931", "04006381333931"),
        ("19501101530000", "19501101530000"),
    ],
)
def test_gtin14_left_pads_valid_gtins(code: str, expected: str) -> None:
    assert gtin14(code) == expected


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("1234567", "expected 8, 12, 13 or 14 digits"),
        ("400638133393X", "expected 8, 12, 13 or 14 digits"),
        ("4006381333932", "the check digit should be 1"),
    ],
)
def test_gtin14_rejects_invalid_code_naming_the_problem(code: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        gtin14(code)


@given(
    st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.text("0123456789", min_size=n, max_size=n)
    )
)
def test_gtin14_is_idempotent_for_any_valid_gtin(body: str) -> None:
    code = body + check_digit(body)
    once = gtin14(code)
    assert len(once) == 14
    assert once.endswith(code)
    assert gtin14(once) == once


# --- UPC-E --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upce", "upca"),
    [
        # GS1 General Specifications 5.2.2.4.2, one per rule on the sixth data digit; expected
        # values worked by hand from the rules, not from the implementation.
        ("04252614", "042100005264"),  # 0-2: X1X2 X6 0000 X3X4X5
        ("01234505", "012000003455"),  # 0-2
        ("01234531", "012300000451"),  # 3: X1X2X3 00000 X4X5
        ("01234543", "012340000053"),  # 4: X1X2X3X4 00000 X5
        ("01234572", "012345000072"),  # 5-9: X1..X5 0000 X6
    ],
)
def test_expand_upce_follows_gs1_rules(upce: str, upca: str) -> None:
    assert expand_upce(upce) == upca
    assert check_digit(upca[:-1]) == upca[-1]


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("0425261", "expected 8 digits"),
        ("2425261X", "expected 8 digits"),
        ("24252614", "number system must be 0 or 1"),
        ("04252615", "check digit is wrong"),
    ],
)
def test_expand_upce_rejects_invalid_code_naming_the_problem(code: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        expand_upce(code)


# --- retail symbologies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "gtin", "symbology"),
    [
        ("4006381333931", "04006381333931", "ean13"),
        ("96385074", "00000096385074", "ean8"),
        ("036000291452", "00036000291452", "upca"),
        ("04252614", "00042100005264", "upce"),  # not a valid EAN-8, so UPC-E
        ("19501101530000", "19501101530000", "gtin14"),
        ("]E04006381333931", "04006381333931", "ean13"),
        ("]E0036000291452", "00036000291452", "upca"),
        ("]E004252614", "00042100005264", "upce"),
        ("]E00425261", "00042100005264", "upce"),  # 7 digits, no check digit sent
        ("]E0425261", "00042100005264", "upce"),  # 6 digits, number system 0 implied
        ("]E096385074", "00000096385074", "ean8"),  # cannot be UPC-E: number system 9
        ("]E496385074", "00000096385074", "ean8"),
        ("]E3400638133393112", "04006381333931", "ean13"),  # 2-digit add-on ignored
        ("]E3400638133393112345", "04006381333931", "ean13"),  # 5-digit add-on ignored
        ("]I119501101530000", "19501101530000", "gtin14"),
    ],
)
def test_classify_reads_retail_symbology_as_normalised_gtin(
    raw: str, gtin: str, symbology: Symbology
) -> None:
    assert scan(raw) == ProductScan(gtin=gtin, symbology=symbology, raw=raw)


@pytest.mark.parametrize(
    "raw",
    [
        "4006381333932",  # EAN-13
        "96385075",  # EAN-8
        "036000291453",  # UPC-A
        "04252615",  # neither EAN-8 nor UPC-E holds
        "19501101530001",  # GTIN-14
        "]E004252615",  # UPC-E
        "]E496385075",  # EAN-8
        "]I119501101530001",  # ITF-14
    ],
)
def test_classify_rejects_wrong_check_digit(raw: str) -> None:
    result = scan(raw)
    assert result == InvalidScan(
        reason="bad_check_digit",
        message="That barcode could not be read: the check digit is wrong.",
        raw=raw,
    )


def test_classify_prefers_ean8_for_eight_digits_valid_both_ways_without_identifier() -> None:
    # 01234565 is a valid EAN-8 and a valid UPC-E (-> 012345000065): the identifier decides.
    plain = scan("01234565")
    identified = scan("]E001234565")
    assert isinstance(plain, ProductScan) and isinstance(identified, ProductScan)
    assert (plain.symbology, plain.gtin) == ("ean8", "00000001234565")
    assert (identified.symbology, identified.gtin) == ("upce", "00012345000065")


@pytest.mark.parametrize("terminator", ["\r\n", "\n", "\r"])
def test_classify_strips_one_line_terminator(terminator: str) -> None:
    result = scan("4006381333931" + terminator)
    assert result == ProductScan(gtin="04006381333931", symbology="ean13", raw="4006381333931")


@given(st.text("0123456789", min_size=12, max_size=12))
def test_check_digit_makes_any_twelve_digits_a_product_or_variable_measure(body: str) -> None:
    code = body + check_digit(body)
    result = scan(code)
    if body[:2] in ("20", "21", "22"):  # the default variable-measure layouts
        assert isinstance(result, VariableMeasureScan)
        assert result.prefix == body[:2]
    else:  # includes 23-29 (no layout), 02 (UPC number system 2) and 04/40-49 (in-company)
        assert result == ProductScan(gtin="0" + code, symbology="ean13", raw=code)


# --- variable measure ---------------------------------------------------------------------------


def test_classify_reads_default_price_layout_as_minor_units() -> None:
    assert scan("2012345003958") == VariableMeasureScan(
        prefix="20", item="12345", kind="price", price=395, weight_kg=None, raw="2012345003958"
    )


@pytest.mark.parametrize(
    ("raw", "prefix", "item", "weight"),
    [("2100042012509", "21", "00042", "1.250"), ("2200042005003", "22", "00042", "0.500")],
)
def test_classify_reads_default_weight_layouts_in_kilograms(
    raw: str, prefix: str, item: str, weight: str
) -> None:
    result = scan(raw)
    assert result == VariableMeasureScan(
        prefix=prefix, item=item, kind="weight", price=None, weight_kg=Decimal(weight), raw=raw
    )
    assert isinstance(result, VariableMeasureScan) and str(result.weight_kg) == weight


def test_classify_checks_variable_measure_check_digit_first() -> None:
    assert invalid_reason("2012345003959") == "bad_check_digit"


def test_classify_reads_prefix_without_layout_as_plain_ean13() -> None:
    assert scan("2300001001005") == ProductScan(
        gtin="02300001001005", symbology="ean13", raw="2300001001005"
    )


def test_classify_uses_custom_layouts_from_config() -> None:
    config = BarcodeConfig(
        variable_measure=(
            # position 6 holds a price check digit, which is skipped
            VariableMeasureLayout(
                prefix="28", kind="price", item_start=2, item_length=4, value_start=7
            ),
            VariableMeasureLayout(
                prefix="29",
                kind="weight",
                item_start=2,
                item_length=6,
                value_start=8,
                value_length=4,
                decimals=2,
            ),
        )
    )
    assert scan("2812345123454", config) == VariableMeasureScan(
        prefix="28", item="1234", kind="price", price=12345, weight_kg=None, raw="2812345123454"
    )
    assert scan("2912345601256", config) == VariableMeasureScan(
        prefix="29",
        item="123456",
        kind="weight",
        price=None,
        weight_kg=Decimal("1.25"),
        raw="2912345601256",
    )
    # 20 has no layout in this config: an ordinary store-internal GTIN
    assert scan("2012345003958", config) == ProductScan(
        gtin="02012345003958", symbology="ean13", raw="2012345003958"
    )


def test_classify_raises_config_error_for_layout_past_the_code() -> None:
    # parse_config refuses such a layout; a hand-built one fails loudly, naming the key.
    layout = VariableMeasureLayout(prefix="20", kind="price", value_start=10, value_length=5)
    with pytest.raises(ConfigError, match=r"barcodes\.variable_measure"):
        scan("2012345003958", BarcodeConfig(variable_measure=(layout,)))


@given(st.text("0123456789", min_size=5, max_size=5), st.text("0123456789", min_size=5, max_size=5))
def test_variable_measure_price_round_trips_item_and_value(item: str, value: str) -> None:
    code = "20" + item + value
    code += check_digit(code)
    result = scan(code)
    assert isinstance(result, VariableMeasureScan)
    assert (result.item, result.price) == (item, int(value))


# --- GS1 element strings ------------------------------------------------------------------------


def test_classify_reads_gs1_128_gtin_expiry_and_batch() -> None:
    raw = f"]C101{GTIN}17271231" + "10LOT42"
    assert scan(raw) == ProductScan(
        gtin=GTIN, symbology="gs1", raw=raw, batch="LOT42", expiry=date(2027, 12, 31)
    )


def test_classify_flags_expired_gs1_item_with_gs_separator() -> None:
    raw = f"01{GTIN}10LOT42{GS}17260131"
    result = scan(raw)
    assert result == ProductScan(
        gtin=GTIN, symbology="gs1", raw=raw, batch="LOT42", expiry=date(2026, 1, 31), expired=True
    )


@pytest.mark.parametrize(
    ("yymmdd", "expiry", "expired"),
    [
        ("260614", date(2026, 6, 14), True),  # yesterday
        ("260615", date(2026, 6, 15), False),  # expires today: still sellable today
        ("260600", date(2026, 6, 30), False),  # day 00 = last day of the month
        ("260500", date(2026, 5, 31), True),
    ],
)
def test_classify_compares_expiry_with_today(yymmdd: str, expiry: date, expired: bool) -> None:
    result = scan(f"]C101{GTIN}17{yymmdd}")
    assert isinstance(result, ProductScan)
    assert (result.expiry, result.expired) == (expiry, expired)


def test_classify_reads_gs1_net_weight() -> None:
    result = scan(f"]C101{GTIN}3103001250")
    assert isinstance(result, ProductScan)
    assert result.weight_kg == Decimal("1.250")
    assert result.price is None


@pytest.mark.parametrize(
    ("element", "exponent", "price"),
    [
        ("39221295", 2, 1295),  # 12.95
        ("392312950", 2, 1295),  # 12.950: the extra decimal is zero
        ("39201295", 0, 1295),  # JPY 1295
        ("39221295", 3, 12950),  # KWD 12.950
    ],
)
def test_classify_converts_gs1_price_to_minor_units(
    element: str, exponent: int, price: int
) -> None:
    result = scan(f"]C101{GTIN}{element}{GS}10B1", currency_exponent=exponent)
    assert isinstance(result, ProductScan)
    assert (result.price, result.batch) == (price, "B1")


def test_classify_refuses_gs1_price_finer_than_currency() -> None:
    result = scan(f"]C101{GTIN}39221295", currency_exponent=0)
    assert isinstance(result, InvalidScan)
    assert result.reason == "bad_gs1"
    assert "more decimals than the currency allows" in result.message


@pytest.mark.parametrize(
    "raw",
    [
        f"]d201{GTIN}17271231",  # GS1 DataMatrix
        f"]Q301{GTIN}17271231",  # GS1 QR Code
        f"]e001{GTIN}17271231",  # GS1 DataBar
        f"{GS}01{GTIN}17271231",  # FNC1 in first position sent as GS
        f"01{GTIN}17271231",  # no identifier, more than 14 digits
    ],
)
def test_classify_reads_gs1_in_every_gs1_symbology(raw: str) -> None:
    result = scan(raw)
    assert isinstance(result, ProductScan)
    assert (result.gtin, result.symbology, result.expiry) == (GTIN, "gs1", date(2027, 12, 31))


def test_classify_requires_ai_01_in_gs1_string() -> None:
    result = scan("]C117271231" + "10LOT42")
    assert isinstance(result, InvalidScan)
    assert result.reason == "bad_gs1"
    assert result.message == (
        "That barcode could not be read: it has no product number (GS1 AI 01)."
    )


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (f"]C101{GTIN}17271301", "(17) is malformed"),  # month 13
        (f"]C101{GTIN}17270230", "(17) is malformed"),  # 30 February
        (f"]C101{GTIN}1", "unknown or malformed GS1 field"),
        (f"]C101{GTIN}10LOT 42", "characters a GS1 barcode cannot hold"),
        (f"]C101{GTIN}{GS}0109501101530010", "two different product numbers"),
        (f"]C1{GS}{GS}", "holds no GS1 data"),
        ("12345678901234567890", "(12) is malformed"),  # 20 digits: AI 12 with month 56
    ],
)
def test_classify_rejects_malformed_gs1_naming_the_problem(raw: str, problem: str) -> None:
    result = scan(raw)
    assert isinstance(result, InvalidScan)
    assert result.reason == "bad_gs1"
    assert problem in result.message
    assert result.message.startswith("That barcode could not be read: ")


def test_classify_rejects_gs1_gtin_with_wrong_check_digit() -> None:
    assert invalid_reason("]C10109501101530004") == "bad_check_digit"


# --- configurable patterns ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ST1234", StaffBadgeScan("ST1234")),
        ("M1234567", MemberScan("M1234567")),
        ("CPSAVE10", CouponScan("CPSAVE10")),
        ("134567890123456789", WalletScan("134567890123456789")),  # WeChat Pay
        ("2812345678901234", WalletScan("2812345678901234")),  # Alipay
        ("Rs0001-k01-42", ReceiptScan("s0001-k01-42")),
        ("]Q1ST1234", StaffBadgeScan("ST1234")),  # identifier removed before matching
        ("]Q1134567890123456789\r\n", WalletScan("134567890123456789")),
    ],
)
def test_classify_recognises_each_pattern_kind(raw: str, expected: object) -> None:
    assert scan(raw) == expected


def test_classify_uses_custom_patterns_before_gtin_rules() -> None:
    config = BarcodeConfig(member=r"99\d{11}", staff_badge=r"B-[0-9]{3}")
    assert scan("9912345678901", config) == MemberScan("9912345678901")
    assert scan("B-007", config) == StaffBadgeScan("B-007")
    assert invalid_reason("ST1234", config) == "unknown_format"


def test_classify_patterns_never_match_non_ascii_digits() -> None:
    assert invalid_reason("ST١٢٣٤") == "unknown_format"


# --- every invalid reason -----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "\r\n", "\n", "\r", "]E0"])
def test_classify_reports_empty_scan(raw: str) -> None:
    result = scan(raw)
    assert isinstance(result, InvalidScan)
    assert (result.reason, result.message) == (
        "empty",
        "Nothing was scanned. Please scan the barcode again.",
    )


def test_classify_reports_too_long_scan_against_configured_limit() -> None:
    assert invalid_reason("9" * 128 + "\n") != "too_long"
    assert invalid_reason("9" * 129) == "too_long"
    assert invalid_reason("4006381333931", BarcodeConfig(max_length=12)) == "too_long"


@pytest.mark.parametrize(
    "raw",
    [
        "\x00",
        "4006381333931\x07",
        "4006381333931\n\n",  # only one terminator is stripped
        "40063\r81333931",
        "\x1b[A",
        "ST1234\x7f",  # DEL
        "ST\x851234",  # C1 control
        "ST\u200b1234",  # zero-width space (format character)
        "\ufeff4006381333931",  # byte order mark
        "\ud8004006381333931",  # lone surrogate
        f"]E0400638{GS}1333931",  # GS outside a GS1 symbology
        f"]Q1ST{GS}1234",
    ],
)
def test_classify_rejects_control_characters(raw: str) -> None:
    result = scan(raw)
    assert isinstance(result, InvalidScan)
    assert result.reason == "control_chars"
    assert result.message == (
        "That barcode could not be read: it contains characters a barcode cannot hold."
    )


@pytest.mark.parametrize(
    "raw",
    [
        "hello",
        "12345",
        "123456789",  # 9 digits
        "4006381333931 ",
        "]C04006381333931",  # Code 128 without FNC1 does not carry a GTIN
        "]E44006381333931",  # EAN-8 identifier with 13 digits
        "]E012345678901234",
        "]E02123456",  # 7-digit UPC-E with number system 2
        "]",
        "]Y3ABC",
        "商品",
    ],
)
def test_classify_reports_unknown_format(raw: str) -> None:
    result = scan(raw)
    assert isinstance(result, InvalidScan)
    assert result.reason == "unknown_format"
    assert result.message.endswith(".")
    assert result.raw == raw


# --- never raises -------------------------------------------------------------------------------

PREFIXES = st.sampled_from(
    ["", "]E0", "]E3", "]E4", "]I1", "]C0", "]C1", "]d2", "]Q3", "]e0", "]J1", "]Y", "]", GS, "01"]
)
AI_PIECES = st.sampled_from(["01", "10", "17", "3103", "3922", "3923", "21", "00", "12", GS])


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(exclude_categories=[]), max_size=150))
def test_classify_never_raises_on_arbitrary_text(raw: str) -> None:
    assert isinstance(classify(raw, CFG, TODAY), RESULT_TYPES)


@settings(max_examples=500, deadline=None)
@given(PREFIXES, st.text("0123456789", max_size=40), st.sampled_from(["", "\r\n", "\n"]))
def test_classify_never_raises_on_arbitrary_digit_strings(
    prefix: str, digits: str, terminator: str
) -> None:
    result = classify(prefix + digits + terminator, CFG, TODAY)
    assert isinstance(result, RESULT_TYPES)
    if isinstance(result, ProductScan):
        assert len(result.gtin) == 14 and result.gtin.isdigit()


@settings(max_examples=500, deadline=None)
@given(
    PREFIXES,
    st.lists(st.tuples(AI_PIECES, st.text("0123456789AZaz-!\x1d", max_size=16)), max_size=5),
    st.integers(min_value=0, max_value=3),
)
def test_classify_never_raises_on_gs1_like_strings(
    prefix: str, pieces: list[tuple[str, str]], exponent: int
) -> None:
    raw = prefix + "".join(ai + value for ai, value in pieces)
    assert isinstance(classify(raw, CFG, TODAY, exponent), RESULT_TYPES)
