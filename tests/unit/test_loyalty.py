"""kiosk.loyalty (points earned, what points pay, spending caps), the member parts of the sale
event and the receipt, the [loyalty] config section, and phone numbers that never leak."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.config import LoyaltyConfig, ReceiptConfig, StoreConfig, parse_config
from kiosk.errors import ConfigError, InvalidCommand
from kiosk.lane_protocol import parse_command
from kiosk.loyalty import (
    Balances,
    LoyaltyError,
    MemberActivity,
    allowance,
    in_sale,
    ledger_entries,
    level_multiplier,
    limit_reason,
    points_earned,
    points_for,
    points_value,
    promo_member_level,
    redeem_step,
)
from kiosk.members import Member, check_phone, mask_phone
from kiosk.payments import Tender
from kiosk.pricing import Totals
from kiosk.protocol.sale_event import sale_completed_event
from kiosk.receipt import Receipt, build_receipt, render_text
from kiosk.sale import CompletedSale, SaleRecord

CFG = LoyaltyConfig(levels={"gold": Decimal("1.5"), "staff": Decimal("0")})
H0 = "0" * 64


def totals(due: int, tax: int = 0, mode: str = "inclusive") -> Totals:
    gross = due if mode == "inclusive" else due - tax
    return Totals("CNY", mode, (), (), gross, 0, tax, due, 1)


def tender(kind: str, amount: int, points: int = 0) -> Tender:
    return Tender(kind, amount, f"i-{kind}-{amount}", points=points)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ earning
def test_points_are_earned_per_unit_spent_without_tax_by_default() -> None:
    # 113.00 with 13.00 VAT: 100.00 without tax, 1 point per 1.00.
    assert points_earned(totals(11300, 1300), [tender("card", 11300)], CFG) == 100


def test_points_include_tax_when_exclude_tax_is_off() -> None:
    cfg = replace(CFG, exclude_tax=False)
    assert points_earned(totals(11300, 1300), [tender("card", 11300)], cfg) == 113


def test_exclusive_tax_is_left_out_of_the_base_too() -> None:
    # US-style: 100.00 net + 8.00 sales tax = 108.00 due.
    assert points_earned(totals(10800, 800, "exclusive"), [], CFG) == 100


def test_level_multiplier_scales_earning_and_unlisted_levels_earn_at_the_base_rate() -> None:
    t = totals(10000)
    assert points_earned(t, [], CFG, "gold") == 150
    assert points_earned(t, [], CFG, "standard") == 100
    assert points_earned(t, [], CFG, "staff") == 0
    assert level_multiplier(CFG, "platinum") == Decimal(1)


def test_earning_rounds_down_by_default_and_half_up_when_configured() -> None:
    t = totals(1050)  # 10.50: 10.5 points
    assert points_earned(t, [], CFG) == 10
    assert points_earned(t, [], replace(CFG, earn_rounding="half_up")) == 11


def test_stored_value_share_earns_nothing_when_excluded() -> None:
    t = totals(10000)
    paid = [tender("stored_value", 4000), tender("card", 6000)]
    assert points_earned(t, paid, CFG) == 60
    assert points_earned(t, paid, replace(CFG, exclude_stored_value=False)) == 100


def test_points_tenders_never_earn_points() -> None:
    t = totals(10000)
    paid = [tender("points", 2500, 2500), tender("cash", 7500)]
    assert points_earned(t, paid, replace(CFG, exclude_stored_value=False)) == 75


def test_a_sale_paid_entirely_with_excluded_tenders_earns_nothing() -> None:
    assert points_earned(totals(5000), [tender("stored_value", 5000)], CFG) == 0


def test_nothing_is_earned_when_disabled_or_nothing_is_owed() -> None:
    assert points_earned(totals(10000), [], replace(CFG, enabled=False)) == 0
    assert points_earned(totals(0), [], CFG) == 0
    assert points_earned(totals(10000), [], replace(CFG, earn_points=0)) == 0


def test_earn_rate_of_several_points_per_larger_unit() -> None:
    cfg = replace(CFG, earn_points=3, earn_per=1000)  # 3 points per 10.00
    assert points_earned(totals(4999), [], cfg) == 14  # 49.99 -> 14.997 -> 14


money = st.integers(min_value=0, max_value=10**9)


@given(
    due=money,
    tax_share=st.integers(min_value=0, max_value=100),
    paid=st.lists(
        st.tuples(st.sampled_from(["card", "cash", "points", "stored_value"]), money),
        max_size=4,
    ),
    level=st.sampled_from(["gold", "standard", "staff", "unknown"]),
    rounding=st.sampled_from(["down", "half_up"]),
)
def test_points_earned_are_never_negative_nor_above_the_undiscounted_rate(
    due: int, tax_share: int, paid: list[tuple[str, int]], level: str, rounding: str
) -> None:
    cfg = replace(CFG, earn_rounding=rounding)
    t = totals(due, due * tax_share // 100)
    earned = points_earned(t, [tender(kind, amount) for kind, amount in paid], cfg, level)
    ceiling = points_earned(t, [], cfg, level)
    assert 0 <= earned <= ceiling


@given(due=st.integers(min_value=1, max_value=10**8), a=money, b=money)
def test_more_paid_with_stored_value_never_earns_more(due: int, a: int, b: int) -> None:
    less, more = sorted((a, b))
    t = totals(due)
    assert points_earned(t, [tender("stored_value", more)], CFG) <= points_earned(
        t, [tender("stored_value", less)], CFG
    )


# ------------------------------------------------------------------------------ spending
def test_a_point_worth_one_minor_unit_pays_any_amount() -> None:
    assert redeem_step(CFG) == 1
    assert points_for(1234, CFG) == 1234
    assert points_value(1234, CFG) == 1234


def test_points_worth_more_than_a_minor_unit_pay_multiples_of_the_step() -> None:
    cfg = replace(CFG, redeem_points=10, redeem_value=100)  # 1 point = 0.10
    assert redeem_step(cfg) == 10
    assert points_for(250, cfg) == 25
    assert points_value(37, cfg) == 370
    with pytest.raises(LoyaltyError, match="multiple of 10"):
        points_for(255, cfg)


def test_points_worth_less_than_a_minor_unit_round_the_value_down() -> None:
    cfg = replace(CFG, redeem_points=200, redeem_value=100)  # 200 points = 1.00
    assert points_for(3, cfg) == 6
    assert points_value(7, cfg) == 3


def test_a_non_positive_amount_cannot_be_paid_with_points() -> None:
    with pytest.raises(LoyaltyError, match="positive"):
        points_for(0, CFG)
    assert points_value(-5, CFG) == 0


@given(
    points=st.integers(min_value=1, max_value=10**7),
    rp=st.integers(min_value=1, max_value=1000),
    rv=st.integers(min_value=1, max_value=1000),
)
def test_what_points_pay_never_needs_more_points_than_there_are(
    points: int, rp: int, rv: int
) -> None:
    cfg = replace(CFG, redeem_points=rp, redeem_value=rv)
    value = points_value(points, cfg)
    assert value % redeem_step(cfg) == 0
    if value:
        assert points_for(value, cfg) <= points
        assert points_value(points_for(value, cfg), cfg) == value


def test_allowance_is_the_smallest_of_balance_and_caps() -> None:
    cfg = replace(CFG, max_points_per_sale=1000, max_points_per_day=1500)
    assert allowance(cfg, "points", 5000, 0, 0) == 1000  # per-sale cap
    assert allowance(cfg, "points", 5000, 1200, 0) == 300  # per-day cap
    assert allowance(cfg, "points", 200, 0, 0) == 200  # balance
    assert allowance(cfg, "points", 5000, 0, 400) == 600  # this sale already took 400
    assert allowance(cfg, "points", 100, 0, 400) == 0  # never negative


def test_allowance_is_zero_when_loyalty_is_disabled() -> None:
    assert allowance(replace(CFG, enabled=False), "stored_value", 10**6, 0, 0) == 0


@given(
    balance=st.integers(min_value=-100, max_value=10**6),
    spent=st.integers(min_value=0, max_value=10**6),
    used=st.integers(min_value=0, max_value=10**6),
    per_sale=st.integers(min_value=0, max_value=10**6),
    per_day=st.integers(min_value=0, max_value=10**6),
)
def test_allowance_never_lets_balance_or_caps_be_exceeded(
    balance: int, spent: int, used: int, per_sale: int, per_day: int
) -> None:
    cfg = replace(CFG, max_stored_value_per_sale=per_sale, max_stored_value_per_day=per_day)
    room = allowance(cfg, "stored_value", balance, spent, used)
    assert room >= 0
    if room:
        assert used + room <= balance
        assert used + room <= per_sale
        assert spent + used + room <= per_day


def test_limit_reason_names_the_limit_that_binds() -> None:
    cfg = replace(CFG, max_points_per_sale=1000, max_points_per_day=1500)
    assert "per sale" in limit_reason(cfg, "points", 5000, 0, 0)
    assert "per day (1400 spent today)" in limit_reason(cfg, "points", 5000, 1400, 0)
    assert limit_reason(cfg, "points", 0, 0, 0).startswith("nothing left: the balance is 0")
    assert "disabled" in limit_reason(replace(cfg, enabled=False), "points", 5, 0, 0)


def test_in_sale_counts_points_and_stored_value_of_the_tenders() -> None:
    paid = [tender("points", 300, 300), tender("stored_value", 500), tender("card", 100)]
    assert (in_sale(paid, "points"), in_sale(paid, "stored_value")) == (300, 500)


def test_ledger_entries_redeem_before_earning_and_skip_zero_rows() -> None:
    activity = MemberActivity("C1", "gold", "138****0001", 9, 300, 0)
    assert ledger_entries(activity) == [("points", "redeem", -300), ("points", "earn", 9)]
    assert ledger_entries(MemberActivity("C1", "gold", "", 0, 0, 0)) == []


def test_balances_of_an_account() -> None:
    b = Balances(points=7, stored_value=900)
    assert (b.of("points"), b.of("stored_value")) == (7, 900)


def test_the_promotion_engine_sees_the_member_level() -> None:
    assert promo_member_level(Member("C1", "M000001", level="gold")) == "gold"
    assert promo_member_level(None) is None


# ------------------------------------------------------------------------------ phones
def test_check_phone_keeps_digits_and_a_leading_plus() -> None:
    assert check_phone("+86 138-0013-8000") == "+8613800138000"
    assert check_phone("(021) 6000.1234") == "02160001234"


@pytest.mark.parametrize("phone", ["1234", "138x0013800", "++8613800138000", "", "1" * 21])
def test_check_phone_refuses_bad_numbers_without_repeating_them(phone: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_phone(phone)
    message = str(caught.value)
    assert f"{len(phone)} characters" in message
    assert not phone or phone not in message


def test_mask_phone_shows_three_and_four_digits() -> None:
    assert mask_phone("+86 138 0013 8000") == "861****8000"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("12345") == "****2345"


def test_a_phone_sent_with_the_wrong_type_is_not_echoed_in_the_error() -> None:
    with pytest.raises(InvalidCommand) as caught:
        parse_command({"cmd": "member_phone", "phone": 13800000001})
    assert "13800000001" not in str(caught.value)
    assert "member_phone.phone must be a string" in str(caught.value)
    with pytest.raises(InvalidCommand) as pin:
        parse_command({"cmd": "staff_login", "staff_id": "E01", "pin": 4321})
    assert "4321" not in str(pin.value)


# ------------------------------------------------------------------------------ config
def test_loyalty_defaults_and_levels_from_toml() -> None:
    cfg = parse_config('[loyalty]\nearn_points = 2\n[loyalty.levels]\ngold = "1.5"\nvip = 2\n')
    assert cfg.loyalty.earn_points == 2
    assert cfg.loyalty.levels == {"gold": Decimal("1.5"), "vip": Decimal(2)}
    assert parse_config("").loyalty == LoyaltyConfig()


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[loyalty.levels]\ngold = 1.5\n", "loyalty.levels.gold", "never a float"),
        ('[loyalty.levels]\ngold = "-1"\n', "loyalty.levels.gold", "from 0 to 100"),
        ('[loyalty.levels]\ngold = "lots"\n', "loyalty.levels.gold", "not a number"),
        ("[loyalty.levels]\ngold = true\n", "loyalty.levels.gold", "multiplier string"),
        ('[loyalty]\nearn_rounding = "up"\n', "loyalty.earn_rounding", "not one of"),
        ("[loyalty]\nearn_per = 0\n", "loyalty.earn_per", "outside 1.."),
        ("[loyalty]\nredeem_points = 0\n", "loyalty.redeem_points", "outside 1.."),
        ("[loyalty]\nmax_points_per_day = -1\n", "loyalty.max_points_per_day", "outside 0.."),
        ('[loyalty]\nenabled = "yes"\n', "loyalty.enabled", "must be bool"),
        ("[loyalty]\nspeling = 1\n", "loyalty.speling", "unknown key"),
    ],
)
def test_bad_loyalty_settings_name_the_key(text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.key == key
    assert problem in caught.value.problem


# ------------------------------------------------------------------------------ sale event
def make_sale(member: str | None, loyalty: MemberActivity | None, *paid: Tender) -> CompletedSale:
    return CompletedSale(
        sale_id="01900000-0000-7000-8000-000000000001",
        event_id="01900000-0000-7000-8000-000000000002",
        kiosk_id="s0001-k01",
        store_id="s0001",
        boot=1,
        occurred_at="2026-03-02T03:00:00Z",
        business_day="2026-03-02",
        currency="CNY",
        language="en",
        lines=(),
        totals=totals(sum(t.amount for t in paid)),
        cash_rounding=0,
        tenders=paid,
        member_id=member,
        loyalty=loyalty,
    )


ACTIVITY = MemberActivity("C0001", "gold", "138****0001", 9, 300, 500, 4709, 2500)
PAID = (tender("points", 300, 300), tender("stored_value", 500), tender("card", 690))


def test_sale_event_member_carries_what_central_reconciles() -> None:
    event = sale_completed_event(make_sale("C0001", ACTIVITY, *PAID), 1, H0)
    assert event["member"] == {
        "id": "C0001",
        "points_earned": 9,
        "points_redeemed": 300,
        "stored_value_used": 500,
    }
    assert [t["type"] for t in event["tenders"]] == ["points", "stored_value", "card"]
    assert "138" not in json.dumps(event)  # neither the masked phone nor balances published


def test_sale_event_refuses_member_activity_that_disagrees_with_the_tenders() -> None:
    wrong = replace(ACTIVITY, points_redeemed=200)
    with pytest.raises(ValueError, match="redeems 200 points"):
        sale_completed_event(make_sale("C0001", wrong, *PAID), 1, H0)
    with pytest.raises(ValueError, match="loyalty of member C0002"):
        sale_completed_event(make_sale("C0001", replace(ACTIVITY, member_id="C0002"), *PAID), 1, H0)


def test_sale_event_refuses_member_tenders_without_a_member_or_activity() -> None:
    with pytest.raises(ValueError, match="without a member"):
        sale_completed_event(make_sale(None, None, *PAID), 1, H0)
    with pytest.raises(ValueError, match="without member activity"):
        sale_completed_event(make_sale("C0001", None, *PAID), 1, H0)


# ------------------------------------------------------------------------------ receipt
RECORD = SaleRecord(seq=1, receipt_no="s0001-k01-1", prev_hash=H0, hash="1" * 64)


@pytest.mark.parametrize("width", [32, 42, 48])
def test_receipt_shows_member_points_and_stored_value_lines(width: int) -> None:
    sale = make_sale("C0001", ACTIVITY, *PAID)
    receipt = build_receipt(sale, RECORD, StoreConfig(), ReceiptConfig(width=width), "t")
    text = render_text(receipt, width)
    for expected in (
        "C0001 138****0001",
        "Points earned",
        "+9",
        "Points used",
        "-300",
        "Points balance",
        "4709",
        "Stored value used",
        "5.00",
        "Stored value balance",
        "25.00",
        "Points",
    ):
        assert expected in text
    assert max(len(line) for line in text.splitlines()) <= width
    assert Receipt.from_dict(json.loads(json.dumps(receipt.to_dict()))) == receipt


def test_receipt_without_balances_prints_only_what_the_sale_did() -> None:
    activity = replace(ACTIVITY, points_balance=None, stored_value_balance=None)
    sale = make_sale("C0001", activity, *PAID)
    receipt = build_receipt(sale, RECORD, StoreConfig(), ReceiptConfig(language="zh_CN"), "t")
    text = render_text(receipt, 42)
    assert "本次积分" in text and "储值消费" in text
    assert "积分余额" not in text and "储值余额" not in text


def test_receipt_of_a_sale_without_member_activity_keeps_the_plain_member_line() -> None:
    sale = make_sale("C0001", None, tender("card", 100))
    receipt = build_receipt(sale, RECORD, StoreConfig(), ReceiptConfig(), "t")
    assert receipt.member is None
    assert "C0001" in render_text(receipt, 42)
