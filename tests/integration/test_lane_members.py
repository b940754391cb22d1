"""Members through the lane on a real kiosk.db: identifying by member code and by phone number
(masked, never kept), points earned on a sale, points and stored value as tenders with their
per-sale and per-day caps, the append-only member ledger whose balances never go below zero,
and no raw phone number anywhere (database bytes, events, outbox, receipts, logs)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from central.config import KioskRegistry
from central.events import Event as CentralEvent
from central.events import SaleCompleted
from central.ledger import imbalance, sale_ledger
from central.validation import validate
from kiosk.app import open_store
from kiosk.errors import StoreError
from kiosk.loyalty import MemberActivity
from kiosk.payments import Tender
from kiosk.store.lane_store import SqliteLaneStore
from kiosk.store.loyalty import SqliteMemberLedger, credit
from tests.integration.conftest import SaleFactory
from tests.integration.lane_kit import (
    MEMBER_GOLD,
    MILK,
    TODAY,
    WATER,
    Event,
    LaneKit,
    error_of,
    make_kiosk,
    names,
    only,
)

GOLD_PHONE = "13800000001"  # C0001, gold (kiosk/demo/members.csv)
MEMBER_STANDARD = "M1234567"  # C0003, standard, 13800000003
TABLES = ("sales", "journal", "outbox", "member_ledger", "sale_tenders")
WATER_AND_MILK = 1490  # 2.00 (VAT13, tax 0.23) + 12.90 (VAT9, tax 1.07): 13.60 without tax


def fund(kit: LaneKit, member: str, points: int = 0, stored_value: int = 0) -> None:
    """Put an opening balance on a member's accounts, as a top-up at the desk would."""
    db = open_store(kit.config)
    try:
        if points:
            credit(db, member, "points", points, TODAY, "opening balance")
        if stored_value:
            credit(db, member, "stored_value", stored_value, TODAY, "top-up T-1")
    finally:
        db.conn.close()


def ledger(kit: LaneKit, member: str = "C0001") -> list[tuple[Any, ...]]:
    return kit.rows(
        "SELECT account, kind, amount, business_day FROM member_ledger "
        "WHERE member_id = ? ORDER BY id",
        (member,),
    )


def balances(kit: LaneKit, member: str = "C0001") -> tuple[int, int]:
    db = open_store(kit.config)
    try:
        found = SqliteMemberLedger(db).balances(member)
    finally:
        db.conn.close()
    return found.points, found.stored_value


def basket(kit: LaneKit, member: str = MEMBER_GOLD) -> None:
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    kit.cmd("scan", code=member)


@pytest.fixture
def kit(tmp_path: Path) -> Any:
    kiosk = make_kiosk(tmp_path)
    yield kiosk
    kiosk.close()


# ------------------------------------------------------------------------------ identifying
def test_a_member_code_shows_level_and_balances_in_the_view(kit: LaneKit) -> None:
    fund(kit, "C0001", points=5000, stored_value=3000)
    kit.cmd("scan", code=WATER)
    events = kit.cmd("member", code=MEMBER_GOLD)
    assert only(events, "member_identified") == {
        "event": "member_identified",
        "member": "C0001",
        "level": "gold",
        "phone": "138****0001",
    }
    view = kit.view()
    assert view["member"] == {"member": "C0001", "level": "gold", "phone": "138****0001"}
    assert view["loyalty"] == {
        "points": 5000,
        "stored_value": 3000,
        "points_to_earn": 2,  # 2.00 - 0.23 VAT = 1.77 -> 1 point × 1.5 (gold), rounded down
        "points_payable": 200,
        "stored_value_payable": 200,
    }


def test_a_typed_phone_number_identifies_the_member_masked(kit: LaneKit) -> None:
    events = kit.cmd("member_phone", phone="138-0000 0001")
    assert names(events) == ["sale_started", "member_identified"]
    assert only(events, "member_identified")["phone"] == "138****0001"
    assert kit.view()["member"] == {"member": "C0001", "level": "gold", "phone": "138****0001"}
    assert kit.snapshot()["member"]["masked_phone"] == "138****0001"


def test_an_unknown_phone_is_rejected_without_opening_a_sale(kit: LaneKit) -> None:
    events = kit.cmd("member_phone", phone="13999999999")
    assert names(events) == ["scan_rejected"]
    assert events[0]["reason"] == "unknown_phone"
    assert "13999999999" not in json.dumps(events)
    view = kit.view()
    assert (view["mode"], view["member"], view["loyalty"]) == ("idle", None, None)


@pytest.mark.parametrize("phone", ["12", "138000x00001", "()", "1" * 25])
def test_a_malformed_phone_is_an_invalid_command_that_does_not_repeat_it(
    kit: LaneKit, phone: str
) -> None:
    error = error_of(kit.cmd("member_phone", phone=phone))
    assert error["code"] == "invalid_command"
    assert error["message"].startswith("member_phone.phone: a phone number must be 5-20 digits")
    assert phone not in error["message"]


def test_another_member_replaces_the_first_before_paying(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MEMBER_GOLD)
    kit.cmd("member", code=MEMBER_STANDARD)
    assert kit.view()["member"] == {"member": "C0003", "level": "standard", "phone": "138****0003"}


def test_a_member_cannot_be_identified_while_paying(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    kit.cmd("pay", method="cash")
    assert error_of(kit.cmd("member_phone", phone=GOLD_PHONE))["code"] == "wrong_state"


# ------------------------------------------------------------------------------ earning
def test_a_card_sale_earns_points_without_tax_at_the_member_level(kit: LaneKit) -> None:
    basket(kit)
    assert kit.view()["loyalty"]["points_to_earn"] == 20  # 13.60 × 1.5 = 20.4
    events = kit.cmd("pay", method="card")
    assert "sale_completed" in names(events)
    assert ledger(kit) == [("points", "earn", 20, TODAY)]
    assert balances(kit) == (20, 0)
    event = kit.sale_events()[0]
    assert event["member"] == {
        "id": "C0001",
        "points_earned": 20,
        "points_redeemed": 0,
        "stored_value_used": 0,
    }
    text = kit.view()["last_receipt"]["text"]
    assert "本次积分" in text and "+20" in text and "积分余额" in text


def test_points_include_tax_when_configured(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, loyalty={"exclude_tax": False})
    try:
        basket(kit, MEMBER_STANDARD)
        kit.cmd("pay", method="card")
        assert ledger(kit, "C0003") == [("points", "earn", 14, TODAY)]  # 14.90, standard: × 1
    finally:
        kit.close()


def test_a_sale_without_a_member_writes_no_ledger_row(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    kit.cmd("pay", method="card")
    assert kit.count("member_ledger") == 0
    assert "member" not in kit.sale_events()[0]


# ------------------------------------------------------------------------------ redeeming
def test_points_and_stored_value_pay_part_of_a_sale_as_tenders(kit: LaneKit) -> None:
    fund(kit, "C0001", points=5000, stored_value=3000)
    basket(kit)
    events = kit.cmd("redeem", type="points", amount=300)
    assert names(events) == ["payment_started", "payment_approved", "member_redeemed"]
    assert only(events, "member_redeemed") == {
        "event": "member_redeemed",
        "type": "points",
        "amount": 300,
        "points": 300,
        "balance": 4700,
    }
    kit.cmd("redeem", type="stored_value", amount=500)
    assert kit.view()["tenders"] == [
        {"type": "points", "amount": 300},
        {"type": "stored_value", "amount": 500},
    ]
    assert [(i["method"], i["amount"], i["status"]) for i in kit.intents()] == [
        ("points", 300, "approved"),
        ("stored_value", 500, "approved"),
    ]
    assert ledger(kit)[2:] == []  # nothing is spent until the sale is recorded
    assert "sale_completed" in names(kit.cmd("pay", method="card"))
    # 13.60 × 690/1490 × 1.5 = 9.4: the points and stored value shares earn nothing.
    assert ledger(kit)[2:] == [
        ("points", "redeem", -300, TODAY),
        ("stored_value", "redeem", -500, TODAY),
        ("points", "earn", 9, TODAY),
    ]
    assert balances(kit) == (4709, 2500)
    event = kit.sale_events()[0]
    assert event["member"] == {
        "id": "C0001",
        "points_earned": 9,
        "points_redeemed": 300,
        "stored_value_used": 500,
    }
    assert [t["type"] for t in event["tenders"]] == ["points", "stored_value", "card"]


def test_central_accepts_and_books_a_sale_paid_with_member_accounts(kit: LaneKit) -> None:
    fund(kit, "C0001", points=5000, stored_value=3000)
    basket(kit)
    kit.cmd("redeem", type="points", amount=300)
    kit.cmd("redeem", type="stored_value", amount=500)
    kit.cmd("pay", method="card")
    [(topic, payload)] = kit.rows("SELECT topic, payload FROM outbox")
    event = validate(topic, payload.encode(), KioskRegistry(stores=frozenset({"s0001"})), 262144)
    assert isinstance(event, CentralEvent), event
    assert isinstance(event.body, SaleCompleted)
    lines = sale_ledger(event.body)
    assert imbalance(lines) == 0
    tenders = {line.code: line.amount for line in lines if line.account == "tender"}
    assert tenders == {"points": 300, "stored_value": 500, "card": 690}


def test_stored_value_can_pay_the_whole_sale_and_earns_nothing_by_default(
    kit: LaneKit,
) -> None:
    fund(kit, "C0001", stored_value=3000)
    basket(kit)
    events = kit.cmd("redeem", type="stored_value")
    assert only(events, "payment_approved")["amount"] == WATER_AND_MILK
    assert "sale_completed" in names(events)
    assert ledger(kit)[1:] == [("stored_value", "redeem", -WATER_AND_MILK, TODAY)]
    assert kit.sale_events()[0]["member"]["points_earned"] == 0


def test_stored_value_earns_points_when_not_excluded(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, loyalty={"exclude_stored_value": False})
    try:
        fund(kit, "C0001", stored_value=3000)
        basket(kit)
        kit.cmd("redeem", type="stored_value")
        assert ledger(kit)[1:] == [
            ("stored_value", "redeem", -WATER_AND_MILK, TODAY),
            ("points", "earn", 20, TODAY),
        ]
    finally:
        kit.close()


def test_points_worth_ten_fen_each_pay_only_whole_points(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, loyalty={"redeem_points": 10, "redeem_value": 100})
    try:
        fund(kit, "C0001", points=1000)
        basket(kit)
        assert kit.view()["loyalty"]["points_payable"] == 1490
        bad = error_of(kit.cmd("redeem", type="points", amount=105))
        assert bad["code"] == "invalid_command" and "multiple of 10" in bad["message"]
        events = kit.cmd("redeem", type="points", amount=1000)
        assert only(events, "member_redeemed")["points"] == 100
        kit.cmd("redeem", type="points")  # 4.90 of the 4.90 left: 49 points
        assert kit.count("sales") == 1
        kit.cmd("scan", code=WATER)
        kit.cmd("scan", code=MEMBER_GOLD)
        db = open_store(kit.config)
        try:
            credit(db, "C0001", "stored_value", 195, TODAY, "top-up")
        finally:
            db.conn.close()
        kit.cmd("redeem", type="stored_value", amount=195)  # 0.05 left: less than a point
        tiny = error_of(kit.cmd("redeem", type="points"))
        assert tiny["code"] == "limit"
        assert tiny["message"] == "the 5 still to pay is less than one point is worth (10)"
    finally:
        kit.close()


def test_redeeming_needs_a_member_a_basket_and_a_known_type(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    assert error_of(kit.cmd("redeem", type="points"))["code"] == "wrong_state"
    kit.cmd("scan", code=MEMBER_GOLD)
    bad = error_of(kit.cmd("redeem", type="coupons"))
    assert bad["code"] == "invalid_command" and "points or stored_value" in bad["message"]
    over = error_of(kit.cmd("redeem", type="points", amount=201))
    assert over["code"] == "invalid_command" and "from 1 to the 200" in over["message"]


def test_redeeming_with_loyalty_disabled_is_refused(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, loyalty={"enabled": False})
    try:
        fund(kit, "C0001", points=5000)
        basket(kit)
        assert kit.view()["loyalty"] is None
        error = error_of(kit.cmd("redeem", type="points"))
        assert error["code"] == "wrong_state" and "no member points" in error["message"]
        kit.cmd("pay", method="card")
        assert kit.sale_events()[0]["member"]["points_earned"] == 0
        assert ledger(kit) == [("points", "credit", 5000, TODAY)]
    finally:
        kit.close()


def test_a_balance_can_never_be_overspent(kit: LaneKit) -> None:
    fund(kit, "C0001", points=100)
    basket(kit)
    error = error_of(kit.cmd("redeem", type="points", amount=101))
    assert error["code"] == "limit"
    assert "points can pay at most 100" in error["message"]
    assert "the balance is 100 points" in error["message"]
    kit.cmd("redeem", type="points")  # takes what there is
    assert kit.view()["loyalty"]["points"] == 0
    empty = error_of(kit.cmd("redeem", type="points"))
    assert empty["code"] == "limit" and "nothing left" in empty["message"]
    assert error_of(kit.cmd("redeem", type="stored_value"))["code"] == "limit"
    kit.cmd("pay", method="card")
    assert balances(kit)[0] >= 0


def test_the_ledger_refuses_to_go_below_zero_and_to_change_rows(kit: LaneKit) -> None:
    fund(kit, "C0001", stored_value=500)
    db = open_store(kit.config)
    try:
        with pytest.raises(StoreError, match="below zero"):
            credit(db, "C0001", "stored_value", -501, TODAY, "correction")
        assert balances(kit) == (0, 500)
        for sql in ("UPDATE member_ledger SET amount = 9999", "DELETE FROM member_ledger"):
            with pytest.raises(Exception, match="append-only"):
                db.conn.execute(sql)
        with pytest.raises(ValueError, match="no member C9999"):
            credit(db, "C9999", "points", 10, TODAY, "typo")
    finally:
        db.conn.close()
    assert ledger(kit) == [("stored_value", "credit", 500, TODAY)]


# ------------------------------------------------------------------------------ offline caps
def test_points_are_capped_per_sale(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, loyalty={"max_points_per_sale": 500})
    try:
        fund(kit, "C0001", points=5000)
        basket(kit)
        assert kit.view()["loyalty"]["points_payable"] == 500
        kit.cmd("redeem", type="points", amount=400)
        error = error_of(kit.cmd("redeem", type="points", amount=200))
        assert error["code"] == "limit"
        assert (
            "at most 500 points may be spent per sale, 400 already in this sale"
            in (error["message"])
        )
        events = kit.cmd("redeem", type="points")  # the 100 the cap leaves
        assert only(events, "payment_approved")["amount"] == 100
    finally:
        kit.close()


def test_stored_value_is_capped_per_day_across_sales_until_the_next_business_day(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path, loyalty={"max_stored_value_per_day": 2000})
    try:
        fund(kit, "C0001", stored_value=10000)
        basket(kit)
        kit.cmd("redeem", type="stored_value")  # 14.90, the whole sale
        basket(kit)
        assert kit.view()["loyalty"]["stored_value_payable"] == 510
        error = error_of(kit.cmd("redeem", type="stored_value", amount=600))
        assert error["code"] == "limit"
        assert "per day (1490 spent today)" in error["message"]
        kit.cmd("redeem", type="stored_value")
        kit.cmd("pay", method="card")
        assert balances(kit)[1] == 10000 - 2000
        kit.clock.advance(24 * 3600)  # the next business day
        basket(kit)
        assert kit.view()["loyalty"]["stored_value_payable"] == WATER_AND_MILK
        kit.cmd("redeem", type="stored_value")
        assert balances(kit)[1] == 8000 - WATER_AND_MILK
    finally:
        kit.close()


# ------------------------------------------------------------------------------ durability
def test_a_member_tender_survives_a_restart_and_is_spent_once(kit: LaneKit) -> None:
    fund(kit, "C0001", points=1000)
    basket(kit)
    kit.cmd("redeem", type="points", amount=300)
    kit.restart()
    view = kit.view()
    assert view["tenders"] == [{"type": "points", "amount": 300}]
    assert view["loyalty"]["points"] == 700
    assert names(kit.cmd("pay", method="card"))[-2:] == ["sale_completed", "receipt_printed"]
    assert [row[:3] for row in ledger(kit)] == [
        ("points", "credit", 1000),
        ("points", "redeem", -300),
        ("points", "earn", 16),  # 13.60 × 1190/1490 (the card's share) × 1.5 = 16.3
    ]
    kit.restart()  # a second restart completes nothing again
    assert kit.count("member_ledger") == 3 and kit.count("sales") == 1


def test_complete_sale_writes_the_ledger_rows_once_in_the_sale_transaction(
    db: sqlite_utils.Database, store: SqliteLaneStore, sales: SaleFactory
) -> None:
    db.conn.execute("INSERT INTO members (member_id, code) VALUES ('C1', 'M000001')")
    credit(db, "C1", "stored_value", 1000, "2026-11-27", "top-up")
    plain = sales.make(lines=1, member_id="C1")  # 25.80 by card
    paid = (Tender("stored_value", 600, "i-sv"), replace(plain.tenders[0], amount=1980))
    activity = MemberActivity("C1", "gold", "138****0001", 25, 0, 600)
    sale = replace(plain, tenders=paid, loyalty=activity)
    record = store.complete_sale(sale, {"state": "idle"})
    again = store.complete_sale(sale, {"state": "idle"})
    assert again == record
    assert SqliteMemberLedger(db).entries("C1")[1:] == [
        {
            "id": 2,
            "member_id": "C1",
            "account": "stored_value",
            "kind": "redeem",
            "amount": -600,
            "business_day": "2026-11-27",
            "seq": 1,
            "sale_id": sale.sale_id,
            "reason": "sale s0001-k01-1",
        },
        {
            "id": 3,
            "member_id": "C1",
            "account": "points",
            "kind": "earn",
            "amount": 25,
            "business_day": "2026-11-27",
            "seq": 1,
            "sale_id": sale.sale_id,
            "reason": "sale s0001-k01-1",
        },
    ]
    spent = SqliteMemberLedger(db).spent_on("C1", "2026-11-27")
    assert (spent.points, spent.stored_value) == (0, 600)


def test_a_sale_that_would_overdraw_the_ledger_is_not_recorded_at_all(
    db: sqlite_utils.Database, store: SqliteLaneStore, sales: SaleFactory
) -> None:
    plain = sales.make(lines=1, member_id="C1")
    paid = (Tender("stored_value", 600, "i-sv"), replace(plain.tenders[0], amount=1980))
    sale = replace(plain, tenders=paid, loyalty=MemberActivity("C1", "gold", "", 0, 0, 600))
    with pytest.raises(StoreError, match="below zero"):
        store.complete_sale(sale, {"state": "idle"})
    counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES]
    assert counts == [0] * len(TABLES)


# ------------------------------------------------------------------------------ privacy
def raw_db_bytes(kit: LaneKit) -> bytes:
    """kiosk.db and its -wal and -shm files as they are on disk now."""
    files = sorted(kit.db_path.parent.glob(kit.db_path.name + "*"))
    assert files
    return b"".join(path.read_bytes() for path in files)


def test_no_raw_phone_number_anywhere(kit: LaneKit, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fund(kit, "C0001", points=1000, stored_value=1000)
    answers: list[Event] = []
    answers += kit.cmd("scan", code=WATER)
    answers += kit.cmd("member_phone", phone="+86 138 0000 0001")  # not a member's format
    answers += kit.cmd("member_phone", phone="138 0000 0001")
    answers += kit.cmd("member_phone", phone="13800000002")
    answers += kit.cmd("member_phone", phone=GOLD_PHONE)
    answers += kit.cmd("member_phone", phone="139-0000-0009")  # unknown
    answers += kit.lane.handle({"cmd": "member_phone", "phone": 13800000001})  # wrong type
    mid_sale = [raw_db_bytes(kit)]  # the member is in the lane snapshot now
    answers += kit.cmd("redeem", type="points", amount=50)
    answers += kit.cmd("redeem", type="stored_value", amount=50)
    mid_sale.append(raw_db_bytes(kit))
    answers += kit.cmd("pay", method="card")
    answers.append(kit.view())
    kit.restart()
    answers.append(kit.view())
    kit.close()
    outbox = [row[0] for row in kit.rows("SELECT payload FROM outbox")]
    jobs = [row[0] for row in kit.rows("SELECT document FROM print_jobs")]
    assert outbox and jobs
    texts = {
        "events": json.dumps(answers, ensure_ascii=False),
        "outbox": "\n".join(outbox),
        "receipts": "\n".join(jobs),
        "logs": "\n".join(
            f"{r.getMessage()} {json.dumps(r.__dict__, default=str)}" for r in caplog.records
        ),
    }
    raw = b"".join([*mid_sale, raw_db_bytes(kit)])
    for digits in ("13800000001", "13800000002", "13900000009", "8613800000001"):
        for where, text in texts.items():
            assert digits not in text.replace(" ", "").replace("-", ""), (digits, where)
        assert digits.encode() not in raw, digits
        assert digits.encode("utf-16-le") not in raw, digits
    assert "138****0001" in texts["events"] and "138****0001" in texts["receipts"]
    assert any(r.getMessage() == "member identified" for r in caplog.records)
