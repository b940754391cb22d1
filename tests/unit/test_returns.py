"""kiosk.returns and kiosk.protocol.refund_event: refund maths on sale events, and the event."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.config import CashConfig
from kiosk.errors import InvalidCommand, LaneError
from kiosk.loyalty import RefundActivity, refund_ledger_entries
from kiosk.money import round_to_increment
from kiosk.protocol.canonical import GENESIS_HASH
from kiosk.protocol.refund_event import SALE_REFUNDED_SCHEMA, sale_refunded_event
from kiosk.protocol.sale_event import seal, verify_event
from kiosk.refunds import CompletedRefund, RefundTender
from kiosk.returns import (
    OriginalSale,
    Refunded,
    RefundPlan,
    add_refund,
    cumulative_share,
    plan_refund,
    qty_units,
    share,
)

NO_ROUNDING = CashConfig()
TENTHS = CashConfig(rounding_increment=10)


def line(
    n: int,
    qty: str,
    unit_price: int,
    *,
    unit: str = "ea",
    discounts: tuple[tuple[str, int, str], ...] = (),
    tax: int | None = None,
    amount: int | None = None,
) -> dict[str, Any]:
    gross = amount if amount is not None else int(Decimal(qty) * unit_price)
    own = gross + sum(d[1] for d in discounts)
    return {
        "line": n,
        "sku": f"SKU{n}",
        "name": f"Item {n}",
        "qty": qty,
        "unit": unit,
        "unit_price": unit_price,
        "amount": gross,
        "discounts": [
            {"kind": kind, "reason": reason, "amount": value, "promo_id": reason}
            for kind, value, reason in discounts
        ],
        "tax_code": "VAT13",
        "tax": tax if tax is not None else own * 13 // 113,
    }


def sale_event(
    lines: list[dict[str, Any]],
    tenders: list[dict[str, Any]] | None = None,
    *,
    rounding: int = 0,
    exclusive: bool = False,
) -> dict[str, Any]:
    gross = sum(x["amount"] for x in lines)
    discount = sum(d["amount"] for x in lines for d in x["discounts"])
    tax = sum(x["tax"] for x in lines)
    due = gross + discount + (tax if exclusive else 0) + rounding
    return {
        "schema": "pos.sale.completed/1",
        "event_id": "e-1",
        "kiosk_id": "s0001-k01",
        "store_id": "s0001",
        "seq": 7,
        "receipt_no": "s0001-k01-7",
        "business_day": "2026-03-02",
        "currency": "CNY",
        "lines": lines,
        "totals": {
            "gross": gross,
            "discount": discount,
            "tax": tax,
            "rounding": rounding,
            "due": due,
        },
        "tenders": tenders or [{"type": "card", "amount": due, "ref": "T-1", "last4": "4242"}],
    }


def plan(
    sale: OriginalSale,
    refunded: Refunded,
    picks: Mapping[int, str | None],
    cash: CashConfig = NO_ROUNDING,
) -> RefundPlan:
    units = {
        n: qty_units(sale.line(n), None if q is None else Decimal(q), refunded)
        for n, q in picks.items()
    }
    return plan_refund(sale, refunded, units, cash)


def record(refunded: Refunded, p: RefundPlan) -> Refunded:
    return add_refund(refunded, p, {c.tender_idx: c.amount for c in p.card}, p.cash)


# --- shares ----------------------------------------------------------------------------------


def test_cumulative_share_is_exact_at_both_ends_and_splits_by_largest_remainder() -> None:
    assert cumulative_share(1000, 3, 0) == 0
    assert cumulative_share(1000, 3, 3) == 1000
    assert cumulative_share(1000, 3, 1) == 333
    assert cumulative_share(-500, 3000, 1000) == -167
    assert [share(1000, 3, i, i + 1) for i in range(3)] == [333, 334, 333]


def test_cumulative_share_refuses_a_count_outside_the_whole() -> None:
    with pytest.raises(ValueError, match="cannot share 4 of 3"):
        cumulative_share(10, 3, 4)


@given(
    value=st.integers(-(10**7), 10**7),
    whole=st.integers(1, 5000),
    cuts=st.lists(st.integers(0, 5000), max_size=6),
)
def test_shares_of_any_split_add_up_to_the_value_and_never_change_sign(
    value: int, whole: int, cuts: list[int]
) -> None:
    points = sorted({0, whole, *(c % (whole + 1) for c in cuts)})
    parts = [share(value, whole, a, b) for a, b in itertools.pairwise(points)]
    assert sum(parts) == value
    assert all(p * value >= 0 for p in parts)


# --- reading the sale --------------------------------------------------------------------------


def test_original_sale_reads_the_event_and_its_tax_mode() -> None:
    inclusive = OriginalSale.from_event(sale_event([line(1, "2", 200)]))
    exclusive = OriginalSale.from_event(sale_event([line(1, "2", 200, tax=36)], exclusive=True))
    assert (inclusive.tax_mode, exclusive.tax_mode) == ("inclusive", "exclusive")
    assert inclusive.lines[0].qty == Decimal(2) and inclusive.lines_paid == 400
    assert exclusive.lines_paid == 436


def test_original_sale_names_what_it_cannot_read() -> None:
    event = sale_event([line(1, "2", 200)])
    del event["lines"][0]["unit_price"]
    with pytest.raises(ValueError, match="unit_price"):
        OriginalSale.from_event(event)


def test_unknown_line_is_not_found() -> None:
    sale = OriginalSale.from_event(sale_event([line(1, "2", 200)]))
    with pytest.raises(LaneError) as caught:
        sale.line(9)
    assert caught.value.code == "not_found"


# --- quantities ------------------------------------------------------------------------------


def test_qty_defaults_to_all_that_is_left() -> None:
    sale = OriginalSale.from_event(sale_event([line(1, "3", 200)]))
    assert qty_units(sale.lines[0], None, Refunded(units={1: 1000})) == 2000


@pytest.mark.parametrize(
    ("qty", "refunded", "error", "match"),
    [
        ("0", {}, InvalidCommand, "more than 0"),
        ("-1", {}, InvalidCommand, "more than 0"),
        ("1.5", {}, InvalidCommand, "whole units"),
        ("0.0001", {}, InvalidCommand, "more than 3 decimals"),
        ("4", {}, LaneError, "more than is left"),
        ("2", {1: 2000}, LaneError, "more than is left"),
        (None, {1: 3000}, LaneError, "already refunded in full"),
    ],
)
def test_bad_or_too_large_quantities_are_refused(
    qty: str | None, refunded: dict[int, int], error: type[Exception], match: str
) -> None:
    sale = OriginalSale.from_event(sale_event([line(1, "3", 200)]))
    with pytest.raises(error, match=match):
        qty_units(sale.lines[0], None if qty is None else Decimal(qty), Refunded(units=refunded))


def test_a_second_refund_of_the_same_units_is_refused_with_wrong_state() -> None:
    sale = OriginalSale.from_event(sale_event([line(1, "2", 200)]))
    done = record(Refunded(), plan(sale, Refunded(), {1: "2"}))
    with pytest.raises(LaneError) as caught:
        qty_units(sale.lines[0], Decimal(1), done)
    assert caught.value.code == "wrong_state"


def test_a_weighed_line_is_returned_whole() -> None:
    sale = OriginalSale.from_event(sale_event([line(1, "0.735", 698, unit="kg", amount=513)]))
    with pytest.raises(InvalidCommand, match="whole line"):
        qty_units(sale.lines[0], Decimal("0.5"), Refunded())
    assert qty_units(sale.lines[0], Decimal("0.735"), Refunded()) == 735


def test_planning_nothing_is_refused() -> None:
    sale = OriginalSale.from_event(sale_event([line(1, "2", 200)]))
    with pytest.raises(InvalidCommand, match="pick at least one line"):
        plan_refund(sale, Refunded(), {}, NO_ROUNDING)


# --- lines, discounts, tax -------------------------------------------------------------------


def test_multibuy_discount_is_refunded_pro_rata_and_in_full_after_the_last_unit() -> None:
    # 3 for 10.00: gross 15.00, promotion -5.00
    sold = line(1, "3", 500, discounts=(("promotion", -500, "3for10"),))
    sale = OriginalSale.from_event(sale_event([sold]))
    refunded = Refunded()
    paid = []
    for _ in range(3):
        p = plan(sale, refunded, {1: "1"})
        (only,) = p.lines
        assert only.gross == 500 and only.discounts[0]["promo_id"] == "3for10"
        paid.append(p.due)
        refunded = record(refunded, p)
    assert paid == [333, 334, 333]
    assert sum(paid) == 1000


def test_tax_of_a_partial_refund_is_its_share_and_adds_up() -> None:
    sale = OriginalSale.from_event(sale_event([line(1, "3", 333, tax=115)]))
    first = plan(sale, Refunded(), {1: "1"})
    rest = plan(sale, record(Refunded(), first), {1: "2"})
    assert (first.lines[0].tax, rest.lines[0].tax) == (38, 77)


def test_exclusive_tax_is_paid_back_on_top() -> None:
    sale = OriginalSale.from_event(sale_event([line(1, "2", 1000, tax=178)], exclusive=True))
    p = plan(sale, Refunded(), {1: "1"})
    assert (p.gross, p.tax, p.due, p.rounding) == (1000, 89, 1089, 0)


# --- tenders ---------------------------------------------------------------------------------


def test_card_parts_come_first_and_cash_takes_the_rest_rounded() -> None:
    # 20.63 paid as card 5.00 + cash 15.60 (15.63 rounded to 0.10, rounding -0.03)
    sold = [line(1, "1", 500), line(2, "1", 1563)]
    tenders = [
        {"type": "card", "amount": 500, "ref": "T-9", "last4": "1111"},
        {"type": "cash", "amount": 1560, "tendered": 2000, "change": 440},
    ]
    sale = OriginalSale.from_event(sale_event(sold, tenders, rounding=-3))
    first = plan(sale, Refunded(), {2: None}, TENTHS)
    assert [(c.tender_idx, c.original_ref, c.amount) for c in first.card] == [(1, "T-9", 500)]
    assert (first.cash, first.rounding) == (1060, -3)
    rest = plan(sale, record(Refunded(), first), {1: None}, TENTHS)
    assert (rest.card, rest.cash) == ((), 500)
    assert first.due + rest.due == 2060


def test_wallet_money_goes_back_in_cash() -> None:
    tenders = [{"type": "wallet", "amount": 400, "ref": "W-1"}]
    sale = OriginalSale.from_event(sale_event([line(1, "2", 200)], tenders))
    p = plan(sale, Refunded(), {1: None})
    assert (p.card, p.cash) == ((), 400)


def test_a_card_without_a_reference_is_refunded_in_cash() -> None:
    sale = OriginalSale.from_event(
        sale_event([line(1, "1", 200)], [{"type": "card", "amount": 200}])
    )
    p = plan(sale, Refunded(), {1: None})
    assert (p.card, p.cash) == ((), 200)


ITEMS = st.lists(
    st.tuples(st.integers(1, 5), st.integers(1, 3000), st.integers(0, 40)),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(
    items=ITEMS,
    card_share=st.integers(0, 100),
    increment=st.sampled_from([1, 5, 10, 100]),
    exclusive=st.booleans(),
    order=st.randoms(use_true_random=False),
    moved=st.booleans(),
)
def test_refunding_everything_in_any_steps_returns_exactly_what_was_paid(
    items: list[tuple[int, int, int]],
    card_share: int,
    increment: int,
    exclusive: bool,
    order: Any,
    moved: bool,
) -> None:
    lines = []
    for n, (qty, price, off_percent) in enumerate(items, start=1):
        gross = qty * price
        off = -(gross * off_percent // 100)
        lines.append(
            line(n, str(qty), price, discounts=(("promotion", off, f"p{n}"),) if off else ())
        )
    if exclusive:
        for x in lines:
            x["tax"] = (x["amount"] + sum(d["amount"] for d in x["discounts"])) * 8 // 100
    before = sum(x["amount"] + sum(d["amount"] for d in x["discounts"]) for x in lines) + (
        sum(x["tax"] for x in lines) if exclusive else 0
    )
    card = before * card_share // 100
    cash_cfg = CashConfig(rounding_increment=increment)
    cash_paid = before - card
    payable = round_to_increment(cash_paid, increment)
    tenders = []
    if card:
        tenders.append({"type": "card", "amount": card, "ref": "T-1"})
    if cash_paid:
        tenders.append({"type": "cash", "amount": payable, "tendered": payable, "change": 0})
    event = sale_event(lines, tenders, rounding=payable - cash_paid, exclusive=exclusive)
    sale = OriginalSale.from_event(event)
    units = [(x.line_no, u) for x in sale.lines for u in range(int(x.qty))]
    order.shuffle(units)
    refunded = Refunded()
    total = 0
    per_line: dict[int, int] = {}
    while units:
        size = order.randint(1, 3)
        take, units = units[:size], units[size:]
        picks: dict[int, int] = {}
        for line_no, _ in take:
            picks[line_no] = picks.get(line_no, 0) + 1000
        p = plan_refund(sale, refunded, picks, cash_cfg)
        assert p.due >= 0 and p.cash >= 0 and all(c.amount > 0 for c in p.card)
        for x in p.lines:
            per_line[x.line_no] = per_line.get(x.line_no, 0) + x.paid(sale.tax_mode)
        card_paid = {} if moved else {c.tender_idx: c.amount for c in p.card}
        cash_out = p.cash + (sum(c.amount for c in p.card) if moved else 0)
        refunded = add_refund(refunded, p, card_paid, cash_out)
        total += p.due
        assert total <= event["totals"]["due"]
    assert refunded.everything(sale)
    assert total == event["totals"]["due"]
    assert per_line == {x.line_no: x.paid(sale.tax_mode) for x in sale.lines}


# --- the event -------------------------------------------------------------------------------


def completed(sale: OriginalSale, p: RefundPlan) -> CompletedRefund:
    tenders = tuple(
        RefundTender("card", c.amount, f"i-{c.tender_idx}", "card", c.tender_idx, c.original_ref)
        for c in p.card
    ) + ((RefundTender("cash", p.cash, "i-cash", "cash"),) if p.cash else ())
    return CompletedRefund(
        refund_id="r-1",
        event_id="e-2",
        kiosk_id="s0001-k01",
        store_id="s0001",
        boot=3,
        occurred_at="2026-03-02T03:00:00.000Z",
        business_day="2026-03-02",
        staff="E01",
        original=sale,
        plan=p,
        tenders=tenders,
    )


def test_refund_event_mirrors_the_sale_and_seals_into_the_chain() -> None:
    sold = line(1, "3", 500, discounts=(("promotion", -500, "3for10"),))
    sale = OriginalSale.from_event(sale_event([sold]))
    p = plan(sale, Refunded(), {1: "1"})
    event = seal(sale_refunded_event(completed(sale, p), 8, GENESIS_HASH))
    assert verify_event(event) is None
    assert event["schema"] == SALE_REFUNDED_SCHEMA
    assert event["refund_no"] == "s0001-k01-8"
    assert event["original"] == {
        "receipt_no": "s0001-k01-7",
        "kiosk_id": "s0001-k01",
        "seq": 7,
        "event_id": "e-1",
        "business_day": "2026-03-02",
    }
    assert event["lines"][0]["qty"] == "1"
    assert event["lines"][0]["discounts"][0]["amount"] == -167
    assert event["totals"] == {"gross": 500, "discount": -167, "tax": 38, "rounding": 0, "due": 333}
    assert event["tenders"] == [{"type": "card", "amount": 333, "original_ref": "T-1"}]


def test_refund_event_refuses_tenders_that_do_not_pay_the_plan() -> None:
    sale = OriginalSale.from_event(sale_event([line(1, "1", 200)]))
    p = plan(sale, Refunded(), {1: None})
    refund = completed(sale, p)
    bad = CompletedRefund(
        refund.refund_id,
        refund.event_id,
        refund.kiosk_id,
        refund.store_id,
        refund.boot,
        refund.occurred_at,
        refund.business_day,
        refund.staff,
        refund.original,
        refund.plan,
        (RefundTender("cash", 1, "x", "cash"),),
    )
    with pytest.raises(ValueError, match="add up to 1, the plan to 200"):
        sale_refunded_event(bad, 8, GENESIS_HASH)
    with pytest.raises(ValueError, match="prev_hash"):
        sale_refunded_event(refund, 8, "nope")


# --- member accounts -------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    items=ITEMS,
    points=st.integers(0, 3000),
    stored_value=st.integers(0, 3000),
    point_value=st.sampled_from([(1, 1), (10, 100), (100, 1)]),  # (points, minor units)
    earned=st.integers(0, 500),
    order=st.randoms(use_true_random=False),
)
def test_refunding_everything_gives_each_member_account_back_exactly_what_it_paid(
    items: list[tuple[int, int, int]],
    points: int,
    stored_value: int,
    point_value: tuple[int, int],
    earned: int,
    order: Any,
) -> None:
    lines = [line(n, str(qty), price) for n, (qty, price, _) in enumerate(items, start=1)]
    due = sum(x["amount"] for x in lines)
    per_points, per_value = point_value
    points_amount = min(points, due) // per_value * per_value
    points_used = points_amount * per_points // per_value
    sv = min(stored_value, due - points_amount)
    card = due - points_amount - sv
    tenders = [{"type": "points", "amount": points_amount}] if points_amount else []
    tenders += [{"type": "stored_value", "amount": sv}] if sv else []
    tenders += [{"type": "card", "amount": card, "ref": "T-1"}] if card else []
    event = sale_event(lines, tenders)
    event["member"] = {
        "id": "C1",
        "points_earned": earned,
        "points_redeemed": points_used,
        "stored_value_used": sv,
    }
    sale = OriginalSale.from_event(event)
    units = [(x.line_no, u) for x in sale.lines for u in range(int(x.qty))]
    order.shuffle(units)
    refunded = Refunded()
    back = {"points": 0, "stored_value": 0, "points_count": 0, "reversed": 0, "total": 0}
    while units:
        size = order.randint(1, 3)
        take, units = units[:size], units[size:]
        picks: dict[int, int] = {}
        for line_no, _ in take:
            picks[line_no] = picks.get(line_no, 0) + 1000
        p = plan_refund(sale, refunded, picks, NO_ROUNDING)
        assert p.cash >= 0 and all(m.amount > 0 for m in p.member) and p.points_reversed >= 0
        for m in p.member:
            back[m.account] += m.amount
            if m.account == "points":
                back["points_count"] += m.points
                # whole points, at the sale's own rate
                assert m.amount * points_used == m.points * points_amount
        back["reversed"] += p.points_reversed
        back["total"] += p.due
        refunded = record(refunded, p)
    assert refunded.everything(sale)
    assert back == {
        "points": points_amount,
        "stored_value": sv,
        "points_count": points_used,
        "reversed": earned,
        "total": due,
    }


def test_member_accounts_are_refunded_pro_rata_in_whole_points() -> None:
    # 10.00 + 5.00: 1000 points worth 10.00 (100 points = 1.00), 3.00 stored value, 2.00 card.
    event = sale_event(
        [line(1, "1", 1000), line(2, "1", 500)],
        [
            {"type": "points", "amount": 1000},
            {"type": "stored_value", "amount": 300},
            {"type": "card", "amount": 200, "ref": "T-1"},
        ],
    )
    event["member"] = {"id": "C1", "points_earned": 3, "points_redeemed": 100_000}
    sale = OriginalSale.from_event(event)
    p = plan(sale, Refunded(), {2: None})
    assert [(m.account, m.amount, m.points) for m in p.member] == [
        ("points", 333, 33_300),
        ("stored_value", 100, 0),
    ]
    assert (p.points_reversed, [c.amount for c in p.card], p.cash, p.due) == (1, [67], 0, 500)
    rest = plan(sale, record(Refunded(), p), {1: None})
    assert [(m.account, m.amount, m.points) for m in rest.member] == [
        ("points", 667, 66_700),
        ("stored_value", 200, 0),
    ]
    assert (rest.points_reversed, [c.amount for c in rest.card], rest.due) == (2, [133], 1000)


def test_earned_points_taken_back_are_capped_at_the_balance() -> None:
    activity = RefundActivity("C1", 40, 40, 0, points_reversed=30)
    assert activity.capped(100).points_unrecovered == 0
    assert activity.capped(-20).points_unrecovered == 10  # 40 back, 20 short before: 20 room
    capped = RefundActivity("C1", points_reversed=30).capped(12)
    assert (capped.points_unrecovered, refund_ledger_entries(capped)) == (
        18,
        [("points", "unearn", -12)],
    )
    assert refund_ledger_entries(RefundActivity("C1", points_reversed=5).capped(0)) == []
