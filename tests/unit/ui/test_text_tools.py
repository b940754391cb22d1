"""Babel formats, the font finder and the .kv extractor (no Kivy)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.ui import format as fmt
from kiosk.ui.fonts import DEBIAN_PACKAGE, FontMissing, find_font
from kiosk.ui.kv_extract import extract_kv


@pytest.mark.parametrize(
    ("lang", "expected"), [("zh_CN", "¥1,234.50"), ("en", "CN¥1,234.50"), ("ja", "元1,234.50")]
)
def test_money_is_formatted_for_the_locale(lang: str, expected: str) -> None:
    assert fmt.money(123450, "CNY", lang) == expected


def test_money_uses_the_currency_exponent_without_floats() -> None:
    assert fmt.to_decimal(5, "JPY") == Decimal("5")
    assert fmt.to_decimal(-50, "CNY") == Decimal("-0.50")
    assert fmt.money(1999, "USD", "en") == "$19.99"
    with pytest.raises(TypeError, match="whole minor units"):
        fmt.to_decimal(1.5, "CNY")  # type: ignore[arg-type]


def test_quantities_numbers_and_dates() -> None:
    assert fmt.qty("3", "ea", "en") == "3"
    assert fmt.qty("0.5", "kg", "zh_CN") == "0.500 kg"
    assert fmt.number(1234567, "en") == "1,234,567"
    moment = datetime(2026, 11, 27, 9, 15, tzinfo=UTC)
    assert "17:15" in fmt.date_time(moment, ZoneInfo("Asia/Shanghai"), "zh_CN")
    with pytest.raises(ValueError, match="not a decimal number"):
        fmt.qty("lots", "ea", "en")
    with pytest.raises(ValueError, match="naive datetime"):
        fmt.date_time(datetime(2026, 1, 1), UTC, "en")
    with pytest.raises(ValueError, match="not a locale Babel knows"):
        fmt.money(1, "CNY", "xx_YY")


def test_the_noto_cjk_font_is_found() -> None:
    found = find_font()
    assert found.regular.name == "NotoSansCJK-Regular.ttc" and found.regular.is_file()


def test_a_missing_font_names_the_file_and_the_package(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match=f"NotoSansCJK-Regular.ttc is missing.*{DEBIAN_PACKAGE}"):
        find_font(dirs=(tmp_path,))
    with pytest.raises(FontMissing, match=r"configured touchscreen font .*nope\.ttf does not"):
        find_font(tmp_path / "nope.ttf")
    mine = tmp_path / "mine.ttf"
    mine.write_bytes(b"font")
    assert find_font(mine).bold == mine


def test_kv_extractor_finds_marked_strings_only() -> None:
    kv = (
        "<X>:\n"
        '    text: app.t("Pay", app.lang)\n'
        "    # text: app.t('Commented out')\n"
        "    other: app.t('It\\'s here') + _(\"Two\")\n"
        '    plain: "not marked"\n'
        "    cat: app.t(name)\n"
    )
    found = list(extract_kv(io.BytesIO(kv.encode()), {}, [], {}))
    assert [(line, message) for line, _f, message, _c in found] == [
        (2, "Pay"),
        (4, "It's here"),
        (4, "Two"),
    ]
