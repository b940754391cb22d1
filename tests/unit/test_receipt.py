"""kiosk.receipt and kiosk.receipt_text: receipt data from a sale, and its text rendering at
32/42/48 columns."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.basket import Adjustment, Basket, Line
from kiosk.config import BarcodeConfig, CashConfig, ReceiptConfig, StoreConfig, TaxConfig
from kiosk.errors import ConfigError, LaneError
from kiosk.money import Money
from kiosk.payments import Tender
from kiosk.pricing import cash_due, price_basket
from kiosk.receipt import LABELS, Receipt, build_receipt, label, render_text
from kiosk.receipt_text import display_width, truncate, wrap
from kiosk.sale import CompletedSale, SaleRecord

STORE = StoreConfig(name="Demo Store 示范店", address=("1 Example Road",))
RECORD = SaleRecord(seq=42, receipt_no="s0001-k01-42", prev_hash="0" * 64, hash="1" * 64)


def demo_lines() -> list[Line]:
    return [
        Line(
            1,
            "100234",
            {"en": "Coca-Cola 330ml", "zh_CN": "可口可乐 330毫升"},
            "ea",
            Decimal("1"),
            350,
            "VAT13",
        ),
        Line(
            2,
            "100235",
            {"en": "Fuji apples 1kg bag", "zh_CN": "红富士苹果 1公斤装"},
            "ea",
            Decimal("2"),
            1290,
            "VAT9",
            adjustments=(Adjustment(-300, "discount", "damaged", "E07"),),
        ),
        Line(
            3,
            "200001",
            {"en": "Bananas", "zh_CN": "香蕉"},
            "kg",
            Decimal("0.735"),
            1580,
            "VAT9",
        ),
    ]


def make_sale(
    lines: list[Line],
    tenders: tuple[Tender, ...] = (),
    *,
    basket_adjustments: tuple[Adjustment, ...] = (),
    tax: TaxConfig | None = None,
    currency: str = "CNY",
    cash_rounding: int = 0,
    member_id: str | None = None,
    language: str = "en",
) -> CompletedSale:
    totals = price_basket(
        Basket(list(lines), list(basket_adjustments)), tax or TaxConfig(), currency
    )
    return CompletedSale(
        sale_id="sale-1",
        event_id="event-1",
        kiosk_id="s0001-k01",
        store_id="s0001",
        boot=1,
        occurred_at="2026-11-27T09:15:02Z",
        business_day="2026-11-27",
        currency=currency,
        language=language,
        lines=tuple(lines),
        totals=totals,
        cash_rounding=cash_rounding,
        tenders=tenders,
        member_id=member_id,
    )


def demo_sale(language: str = "en") -> CompletedSale:
    """37.91 due: 20.00 by card, the rest (17.91, rounded to 17.90) in cash, 20.00 tendered."""
    lines = demo_lines()
    due = price_basket(Basket(lines), TaxConfig(), "CNY").due
    cash_part, delta = cash_due(due - 2000, CashConfig(rounding_increment=10))
    tenders = (
        Tender("card", 2000, "i1", ref="T-1", auth="123456", last4="4242"),
        Tender("cash", cash_part, "i2", tendered=2000, change=2000 - cash_part),
    )
    return make_sale(lines, tenders, cash_rounding=delta, member_id="M000123", language=language)


def demo_receipt(language: str) -> Receipt:
    return build_receipt(
        demo_sale(), RECORD, STORE, ReceiptConfig(language=language), "2026-11-27 17:15"
    )


EN_32 = """\
       Demo Store 示范店
         1 Example Road
--------------------------------
Receipt no.         s0001-k01-42
Kiosk                  s0001-k01
Time            2026-11-27 17:15
--------------------------------
Coca-Cola 330ml           3.50 A
Fuji apples 1kg bag
  2 x 12.90              25.80 B
  Discount: damaged      -3.00
Bananas
  0.735 kg x 15.80/kg    11.61 B
--------------------------------
Subtotal                 40.91
Discount                 -3.00
Rounding                 -0.01
Total                    37.90
  incl. tax               3.24
--------------------------------
Card ****4242            20.00
Cash                     17.90
  Tendered               20.00
Change                    2.10
--------------------------------
Tax rate             Net   Tax
A VAT13 13%         3.10  0.40
B VAT9 9%          31.57  2.84
--------------------------------
Member                   M000123
--------------------------------
      Thank you / 谢谢惠顾
"""

EN_42 = """\
            Demo Store 示范店
              1 Example Road
------------------------------------------
Receipt no.                   s0001-k01-42
Kiosk                            s0001-k01
Time                      2026-11-27 17:15
------------------------------------------
Coca-Cola 330ml                     3.50 A
Fuji apples 1kg bag
  2 x 12.90                        25.80 B
  Discount: damaged                -3.00
Bananas
  0.735 kg x 15.80/kg              11.61 B
------------------------------------------
Subtotal                           40.91
Discount                           -3.00
Rounding                           -0.01
Total                              37.90
  incl. tax                         3.24
------------------------------------------
Card ****4242                      20.00
Cash                               17.90
  Tendered                         20.00
Change                              2.10
------------------------------------------
Tax rate                       Net   Tax
A VAT13 13%                   3.10  0.40
B VAT9 9%                    31.57  2.84
------------------------------------------
Member                             M000123
------------------------------------------
           Thank you / 谢谢惠顾
"""

ZH_32 = """\
       Demo Store 示范店
         1 Example Road
--------------------------------
小票号              s0001-k01-42
机号                   s0001-k01
时间            2026-11-27 17:15
--------------------------------
可口可乐 330毫升          3.50 A
红富士苹果 1公斤装
  2 x 12.90              25.80 B
  折扣: damaged          -3.00
香蕉
  0.735 kg x 15.80/kg    11.61 B
--------------------------------
小计                     40.91
折扣                     -3.00
舍入                     -0.01
合计                     37.90
  其中税额                3.24
--------------------------------
银行卡 ****4242          20.00
现金                     17.90
  实收                   20.00
找零                      2.10
--------------------------------
税率             不含税   税额
A VAT13 13%        3.10   0.40
B VAT9 9%         31.57   2.84
--------------------------------
会员                     M000123
--------------------------------
      Thank you / 谢谢惠顾
"""

ZH_42 = """\
            Demo Store 示范店
              1 Example Road
------------------------------------------
小票号                        s0001-k01-42
机号                             s0001-k01
时间                      2026-11-27 17:15
------------------------------------------
可口可乐 330毫升                    3.50 A
红富士苹果 1公斤装
  2 x 12.90                        25.80 B
  折扣: damaged                    -3.00
香蕉
  0.735 kg x 15.80/kg              11.61 B
------------------------------------------
小计                               40.91
折扣                               -3.00
舍入                               -0.01
合计                               37.90
  其中税额                          3.24
------------------------------------------
银行卡 ****4242                    20.00
现金                               17.90
  实收                             20.00
找零                                2.10
------------------------------------------
税率                       不含税   税额
A VAT13 13%                  3.10   0.40
B VAT9 9%                   31.57   2.84
------------------------------------------
会员                               M000123
------------------------------------------
           Thank you / 谢谢惠顾
"""


@pytest.mark.parametrize(
    ("language", "width", "expected"),
    [("en", 32, EN_32), ("en", 42, EN_42), ("zh_CN", 32, ZH_32), ("zh_CN", 42, ZH_42)],
)
def test_render_small_receipt_exactly(language: str, width: int, expected: str) -> None:
    assert render_text(demo_receipt(language), width) == expected


@pytest.mark.parametrize("width", [32, 42, 48])
@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_snapshot_lines_fit_the_paper(language: str, width: int) -> None:
    text = render_text(demo_receipt(language), width)
    assert text.endswith("\n")
    assert all(display_width(line) <= width for line in text.splitlines())
    assert all(line == line.rstrip() for line in text.splitlines())


def test_receipt_data_from_sale() -> None:
    receipt = demo_receipt("en")
    assert receipt.receipt_no == "s0001-k01-42"
    assert receipt.seq == 42
    assert receipt.kiosk_id == "s0001-k01"
    assert receipt.store_name == "Demo Store 示范店"
    assert receipt.address == ("1 Example Road",)
    assert receipt.occurred_at == "2026-11-27 17:15"
    assert receipt.business_day == "2026-11-27"
    assert [line.qty_text for line in receipt.lines] == ["1", "2", "0.735 kg"]
    assert [line.gross for line in receipt.lines] == [350, 2580, 1161]
    assert receipt.lines[1].adjustments[0].label == "Discount: damaged"
    assert receipt.lines[1].adjustments[0].amount == -300
    assert [(t.code, t.rate_text, t.base, t.tax) for t in receipt.taxes] == [
        ("VAT13", "13%", 310, 40),
        ("VAT9", "9%", 3157, 284),
    ]
    totals = receipt.totals
    assert (totals.gross, totals.discount, totals.tax, totals.rounding, totals.due) == (
        4091,
        -300,
        324,
        -1,
        3790,
    )
    assert totals.tax_included
    assert sum(t.amount for t in receipt.tenders) == totals.due
    assert receipt.change == 210
    assert receipt.member_id == "M000123"
    assert receipt.footer == ReceiptConfig().footer


def test_barcode_payload_matches_the_receipt_pattern() -> None:
    receipt = demo_receipt("en")
    assert receipt.barcode == "Rs0001-k01-42"
    assert re.fullmatch(BarcodeConfig().receipt, receipt.barcode)


def test_language_defaults_to_the_sale_language() -> None:
    receipt = build_receipt(demo_sale("zh_CN"), RECORD, STORE, ReceiptConfig(), "x")
    assert receipt.language == "zh_CN"
    assert receipt.lines[0].name == "可口可乐 330毫升"
    assert receipt.lines[1].adjustments[0].label == "折扣: damaged"


def test_configured_language_wins_over_the_sale_language() -> None:
    receipt = build_receipt(demo_sale("zh_CN"), RECORD, STORE, ReceiptConfig(language="en"), "x")
    assert receipt.language == "en"
    assert receipt.lines[0].name == "Coca-Cola 330ml"


def test_tenders_change_and_rounding_lines_appear() -> None:
    text = render_text(demo_receipt("en"), 42)
    assert re.search(r"^Card \*\*\*\*4242 +20\.00$", text, re.M)
    assert re.search(r"^Cash +17\.90$", text, re.M)
    assert re.search(r"^  Tendered +20\.00$", text, re.M)
    assert re.search(r"^Change +2\.10$", text, re.M)
    assert re.search(r"^Rounding +-0\.01$", text, re.M)
    assert re.search(r"^Total +37\.90$", text, re.M)


def test_wallet_tender_and_no_cash_means_no_change_line() -> None:
    lines = demo_lines()[:1]
    sale = make_sale(lines, (Tender("wallet", 350, "i1", last4="8841"),))
    receipt = build_receipt(sale, RECORD, STORE, ReceiptConfig(), "t")
    text = render_text(receipt, 32)
    assert re.search(r"^Wallet \*\*\*\*8841 +3\.50$", text, re.M)
    assert "Change" not in text
    assert "Rounding" not in text


def test_card_shows_only_last_four_digits_even_if_given_more() -> None:
    pan = "4111111111111111"
    sale = make_sale(demo_lines()[:1], (Tender("card", 350, "i1", last4=pan),))
    receipt = build_receipt(sale, RECORD, STORE, ReceiptConfig(), "t")
    assert receipt.tenders[0].ref == "****1111"
    text = render_text(receipt, 48)
    assert pan not in text
    assert "****1111" in text


def test_tender_without_last4_has_no_ref() -> None:
    sale = make_sale(demo_lines()[:1], (Tender("cash", 350, "i1", tendered=500, change=150),))
    receipt = build_receipt(sale, RECORD, STORE, ReceiptConfig(), "t")
    assert receipt.tenders[0].ref is None
    assert re.search(r"^Change +1\.50$", render_text(receipt, 32), re.M)


def test_basket_adjustments_get_their_labels_when_given() -> None:
    coupon = Adjustment(-1000, "coupon", "10 off 90", "CP-10OFF90")
    lines = [
        Line(1, "a", {"en": "A"}, "ea", Decimal(1), 4500, "VAT13"),
        Line(2, "b", {"en": "B"}, "ea", Decimal(1), 3000, "VAT9"),
    ]
    sale = make_sale(lines, basket_adjustments=(coupon,))
    receipt = build_receipt(sale, RECORD, STORE, ReceiptConfig(), "t", basket_adjustments=[coupon])
    assert [(r.label, r.amount) for r in receipt.basket_adjustments] == [
        ("Coupon: 10 off 90", -1000)
    ]
    assert re.search(r"^Coupon: 10 off 90 +-10\.00$", render_text(receipt, 42), re.M)


def test_basket_adjustments_default_to_one_basket_discount_row() -> None:
    coupon = Adjustment(-1000, "coupon", "10 off 90", "CP-10OFF90")
    lines = [Line(1, "a", {"en": "A"}, "ea", Decimal(1), 4500, "VAT13")]
    sale = make_sale(lines, basket_adjustments=(coupon,))
    receipt = build_receipt(sale, RECORD, STORE, ReceiptConfig(language="zh_CN"), "t")
    assert [(r.label, r.amount) for r in receipt.basket_adjustments] == [("整单优惠", -1000)]


def test_capped_coupon_shows_a_discount_limit_row_so_rows_add_up() -> None:
    coupon = Adjustment(-5000, "coupon", "50 off", "CP-50OFF")
    lines = [
        Line(1, "a", {"en": "A"}, "ea", Decimal(1), 1000, "VAT13"),
        Line(2, "b", {"en": "B"}, "ea", Decimal(1), 2000, "VAT9"),
    ]
    sale = make_sale(lines, basket_adjustments=(coupon,))
    receipt = build_receipt(sale, RECORD, STORE, ReceiptConfig(), "t", basket_adjustments=[coupon])
    assert [(r.label, r.amount) for r in receipt.basket_adjustments] == [
        ("Coupon: 50 off", -5000),
        ("Discount limit", 2000),
    ]
    rows = sum(a.amount for line in receipt.lines for a in line.adjustments)
    rows += sum(r.amount for r in receipt.basket_adjustments)
    assert rows == receipt.totals.discount == -3000
    assert receipt.totals.due == 0


def test_line_discount_carried_to_other_lines_needs_no_extra_row() -> None:
    lines = [
        Line(
            1,
            "a",
            {"en": "A"},
            "ea",
            Decimal(1),
            500,
            "VAT13",
            adjustments=(Adjustment(-800, "discount", "", "E07"),),
        ),
        Line(2, "b", {"en": "B"}, "ea", Decimal(1), 1000, "VAT13"),
    ]
    receipt = build_receipt(make_sale(lines), RECORD, STORE, ReceiptConfig(), "t")
    assert receipt.basket_adjustments == ()
    assert receipt.lines[0].adjustments[0].label == "Discount"
    assert receipt.totals.discount == -800


def test_exclusive_tax_shows_a_tax_row_before_the_total() -> None:
    codes = {"NYC": Decimal("0.08875")}
    lines = [Line(1, "a", {"en": "Batteries"}, "ea", Decimal(1), 499, "NYC")]
    sale = make_sale(
        lines,
        (Tender("card", 543, "i1", last4="0005"),),
        tax=TaxConfig(mode="exclusive", codes=codes),
        currency="USD",
    )
    text = render_text(build_receipt(sale, RECORD, STORE, ReceiptConfig(), "t"), 32)
    assert "Subtotal                  4.99\nTax                       0.44\nTotal" in text
    assert re.search(r"^Total +5\.43$", text, re.M)
    assert "incl. tax" not in text
    assert re.search(r"^A NYC 8\.875% +4\.99 +0\.44$", text, re.M)


def test_jpy_amounts_have_no_decimals() -> None:
    lines = [Line(1, "a", {"en": "Onigiri"}, "ea", Decimal(1), 160, "JP8")]
    sale = make_sale(
        lines,
        (Tender("cash", 160, "i1", tendered=1000, change=840),),
        tax=TaxConfig(codes={"JP8": Decimal("0.08")}),
        currency="JPY",
    )
    text = render_text(build_receipt(sale, RECORD, STORE, ReceiptConfig(), "t"), 32)
    assert re.search(r"^Onigiri +160 A$", text, re.M)
    assert re.search(r"^Change +840$", text, re.M)
    assert re.search(r"^  incl\. tax +12$", text, re.M)


def test_price_embedded_line_shows_no_unit_price() -> None:
    lines = [
        Line(
            1,
            "m",
            {"en": "Beef mince"},
            "kg",
            Decimal("0.589"),
            3980,
            "VAT13",
            fixed_amount=2345,
        )
    ]
    receipt = build_receipt(make_sale(lines), RECORD, STORE, ReceiptConfig(), "t")
    assert receipt.lines[0].price_embedded
    text = render_text(receipt, 32)
    assert re.search(r"^  0\.589 kg +23\.45 A$", text, re.M)
    assert "39.80" not in text


def test_business_day_shown_when_it_differs_from_the_date() -> None:
    sale = replace(demo_sale(), business_day="2026-11-26")
    text = render_text(build_receipt(sale, RECORD, STORE, ReceiptConfig(), "2026-11-27 01:30"), 42)
    assert re.search(r"^Business day +2026-11-26$", text, re.M)
    assert "Business day" not in render_text(demo_receipt("en"), 42)


def test_sale_line_without_priced_line_is_refused() -> None:
    sale = demo_sale()
    broken = replace(sale, totals=replace(sale.totals, lines=sale.totals.lines[:2]))
    with pytest.raises(LaneError, match="line 3 has no priced line"):
        build_receipt(broken, RECORD, STORE, ReceiptConfig(), "t")


@pytest.mark.parametrize("width", [0, 23, 121, True])
def test_render_refuses_a_width_outside_the_range(width: int) -> None:
    with pytest.raises(ConfigError, match=r"receipt\.width"):
        render_text(demo_receipt("en"), width)


def test_receipt_round_trips_through_a_dict() -> None:
    receipt = demo_receipt("zh_CN")
    assert Receipt.from_dict(receipt.to_dict()) == receipt


def test_control_characters_never_reach_the_paper() -> None:
    lines = [Line(1, "a", {"en": "Evil\x1b@\x1dV\x00 name\nnext"}, "ea", Decimal(1), 100, "VAT13")]
    text = render_text(build_receipt(make_sale(lines), RECORD, STORE, ReceiptConfig(), "t"), 32)
    assert not any(ch in text for ch in "\x1b\x1d\x00")
    assert "Evil@V name next" in text


def test_long_single_name_wraps_to_two_lines_then_truncates() -> None:
    name = "Extra long product name that goes on and on and on for ever and more words"
    lines = [Line(1, "a", {"en": name}, "ea", Decimal(1), 100, "VAT13")]
    text = render_text(build_receipt(make_sale(lines), RECORD, STORE, ReceiptConfig(), "t"), 32)
    assert "Extra long product name   1.00 A\nthat goes on and on an...\n" in text


# -- labels and text helpers -------------------------------------------------------------------


def test_labels_in_chinese_and_english() -> None:
    assert (label("total", "zh_CN"), label("total", "en")) == ("合计", "Total")
    assert label("change", "zh_CN") == "找零"
    assert label("wallet", "zh_CN") == "移动支付"
    assert label("receipt_no", "zh_CN") == "小票号"


def test_labels_fall_back_to_english() -> None:
    assert label("total", "de") == "Total"


def test_every_language_has_every_label() -> None:
    for table in LABELS.values():
        assert set(table) == set(LABELS["en"])


@pytest.mark.parametrize(
    ("text", "width"),
    [
        ("abc", 3),
        ("苹果", 4),
        ("苹果 x2", 7),
        ("ＡＢ", 4),  # fullwidth
        ("ｱｲ", 2),  # halfwidth katakana
        ("e\u0301", 1),  # e + combining acute
        ("", 0),
    ],
)
def test_display_width_counts_wide_characters_twice(text: str, width: int) -> None:
    assert display_width(text) == width


def test_wrap_breaks_latin_at_spaces_and_cjk_anywhere() -> None:
    assert wrap("Fuji apples in a bag", 10) == ["Fuji", "apples in", "a bag"]
    assert wrap("红富士苹果一公斤装", 8) == ["红富士苹", "果一公斤", "装"]
    assert wrap("  indented text here", 12) == ["  indented", "  text here"]


def test_wrap_never_splits_a_wide_character_over_the_edge() -> None:
    assert wrap("a苹果", 2) == ["a", "苹", "果"]


def test_truncate_marks_the_cut() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("苹果香蕉牛奶", 8) == "苹果..."
    assert truncate("苹果香蕉牛奶", 3) == "苹"


def test_unknown_label_key_falls_back_to_the_key() -> None:
    assert label("gift_card", "zh_CN") == "gift_card"


# -- the width property ------------------------------------------------------------------------

NAME_CHARS = list("abcdefXYZ 0123-/.") + list("苹果香蕉可口乐红富士牛奶面包鸡蛋") + ["ｱ", "Ａ", "é"]
names = st.text(alphabet=st.sampled_from(NAME_CHARS), max_size=80)


@st.composite
def random_lines(draw: st.DrawFn) -> list[Line]:
    out = []
    for n in range(1, draw(st.integers(1, 6)) + 1):
        unit = draw(st.sampled_from(["ea", "kg"]))
        qty = Decimal(draw(st.integers(1, 99))) if unit == "ea" else Decimal("1.234")
        adjustments = tuple(
            Adjustment(-draw(st.integers(0, 10**6)), "discount", draw(names), "E07")
            for _ in range(draw(st.integers(0, 2)))
        )
        out.append(
            Line(
                n,
                f"s{n}",
                {"en": draw(names), "zh_CN": draw(names)},
                unit,
                qty,
                draw(st.integers(0, 10**8)),
                draw(st.sampled_from(["VAT13", "VAT9"])),
                fixed_amount=draw(st.one_of(st.none(), st.integers(0, 10**9))),
                adjustments=adjustments,
            )
        )
    return out


@given(
    random_lines(),
    st.sampled_from([32, 42, 48]) | st.integers(24, 120),
    st.sampled_from(["en", "zh_CN"]),
    names,
    st.lists(names, max_size=3),
    st.integers(-(10**6), 10**6),
)
def test_no_line_is_wider_than_the_paper(
    lines: list[Line],
    width: int,
    language: str,
    store_name: str,
    footer: list[str],
    cash_rounding: int,
) -> None:
    totals_due = price_basket(Basket(lines), TaxConfig(), "CNY").due + cash_rounding
    tenders = (
        Tender("card", totals_due // 2, "i1", last4="4242"),
        Tender("cash", totals_due - totals_due // 2, "i2", tendered=10**10, change=10**9),
    )
    sale = make_sale(lines, tenders, cash_rounding=cash_rounding, member_id="M123456")
    store = StoreConfig(name=store_name, address=(store_name[::-1],))
    cfg = ReceiptConfig(language=language, header=tuple(footer), footer=tuple(footer))
    receipt = build_receipt(sale, RECORD, store, cfg, "2026-11-27 17:15")
    text = render_text(receipt, width)
    for row in text.splitlines():
        assert display_width(row) <= width, row
    due = Money(receipt.totals.due, "CNY").format_plain()
    assert re.search(rf"^{label('total', language)} +{re.escape(due)}$", text, re.M)
