"""Refunds of sales paid with points and stored value, through the lane on a real kiosk.db:
the member's accounts get back their pro rata share by ledger entries, the points the
refunded part earned are taken back, all in the refund's own transaction; the
``pos.sale.refunded/1`` event carries the movements and central accepts it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from central.config import KioskRegistry
from central.events import Event as CentralEvent
from central.events import SaleRefunded
from central.validation import validate
from kiosk.app import open_store
from kiosk.store import check_db
from kiosk.store.loyalty import SqliteMemberLedger, credit
from tests.integration.lane_kit import (
    MEMBER_GOLD,
    MILK,
    TODAY,
    WATER,
    LaneKit,
    make_kiosk,
    names,
    only,
)


def fund(kit: LaneKit, points: int = 0, stored_value: int = 0, member: str = "C0001") -> None:
    db = open_store(kit.config)
    try:
        if points:
            credit(db, member, "points", points, TODAY, "opening balance")
        if stored_value:
            credit(db, member, "stored_value", stored_value, TODAY, "top-up T-1")
    finally:
        db.conn.close()


def balances(kit: LaneKit, member: str = "C0001") -> tuple[int, int]:
    db = open_store(kit.config)
    try:
        found = SqliteMemberLedger(db).balances(member)
    finally:
        db.conn.close()
    return found.points, found.stored_value


def refund_rows(kit: LaneKit) -> list[tuple[Any, ...]]:
    return kit.rows(
        "SELECT account, kind, amount, seq, reason FROM member_ledger "
        "WHERE kind IN ('refund', 'unearn') ORDER BY id"
    )


def refund_events(kit: LaneKit) -> list[dict[str, Any]]:
    return [json.loads(r[0]) for r in kit.rows("SELECT body FROM refunds ORDER BY seq")]


def sell_with_member_accounts(kit: LaneKit) -> dict[str, Any]:
    """Water (2.00) and milk (12.90) for the gold member: 300 points, 5.00 stored value and
    6.90 by card; it earns 9 points."""
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    kit.cmd("scan", code=MEMBER_GOLD)
    kit.cmd("redeem", type="points", amount=300)
    kit.cmd("redeem", type="stored_value", amount=500)
    done = only(kit.cmd("pay", method="card"), "sale_completed")
    kit.cmd("new_sale")
    return done


def refund(kit: LaneKit, receipt_no: str, *lines: int) -> list[dict[str, Any]]:
    kit.cmd("return_start", receipt_no=receipt_no)
    for line in lines:
        kit.cmd("return_line", line=line)
    return kit.cmd("return_confirm")


@pytest.fixture
def kit(tmp_path: Path) -> Any:
    kiosk = make_kiosk(tmp_path)
    kiosk.login()
    kiosk.logout()
    yield kiosk
    kiosk.close()


def test_a_partial_then_a_full_refund_give_back_each_account_pro_rata_and_exactly(
    kit: LaneKit,
) -> None:
    fund(kit, points=5000, stored_value=3000)
    sale = sell_with_member_accounts(kit)
    assert balances(kit) == (4709, 2500)
    kit.login()
    # The milk is 12.90 of 14.90: 300 × 1290/1490 = 259.7 -> 260 points, 500 × 1290/1490 =
    # 432.9 -> 433 of stored value, 9 × 1290/1490 = 7.8 -> 8 earned points taken back; the
    # card gets the rest of the line, 12.90 - 2.60 - 4.33 = 5.97.
    events = refund(kit, sale["receipt_no"], 2)
    assert names(events) == [
        "refund_processing",
        "refund_approved",
        "refund_completed",
        "receipt_printed",
    ]
    assert only(events, "refund_completed")["due"] == 1290
    assert kit.kiosk.terminal.refunds[0].amount == 597
    (first,) = refund_events(kit)
    assert first["tenders"] == [
        {"type": "card", "amount": 597, "original_ref": first["tenders"][0]["original_ref"]}
        | {k: v for k, v in first["tenders"][0].items() if k in ("ref", "auth", "last4")},
        {"type": "points", "amount": 260},
        {"type": "stored_value", "amount": 433},
    ]
    assert first["member"] == {
        "id": "C0001",
        "points_refunded": 260,
        "stored_value_refunded": 433,
        "points_reversed": 8,
        "points_unrecovered": 0,
    }
    assert balances(kit) == (4709 + 260 - 8, 2500 + 433)
    # The rest: exactly what is left of each account, and the last earned point.
    refund(kit, sale["receipt_no"], 1)
    second = refund_events(kit)[1]
    assert second["member"] == {
        "id": "C0001",
        "points_refunded": 40,
        "stored_value_refunded": 67,
        "points_reversed": 1,
        "points_unrecovered": 0,
    }
    assert second["totals"]["due"] == 200
    assert balances(kit) == (5000, 3000)
    seqs = [first["seq"], first["seq"], first["seq"], second["seq"], second["seq"], second["seq"]]
    assert refund_rows(kit) == [
        ("points", "refund", 260, seqs[0], f"refund {first['refund_no']} of {sale['receipt_no']}"),
        (
            "stored_value",
            "refund",
            433,
            seqs[1],
            f"refund {first['refund_no']} of {sale['receipt_no']}",
        ),
        ("points", "unearn", -8, seqs[2], f"refund {first['refund_no']} of {sale['receipt_no']}"),
        ("points", "refund", 40, seqs[3], f"refund {second['refund_no']} of {sale['receipt_no']}"),
        (
            "stored_value",
            "refund",
            67,
            seqs[4],
            f"refund {second['refund_no']} of {sale['receipt_no']}",
        ),
        ("points", "unearn", -1, seqs[5], f"refund {second['refund_no']} of {sale['receipt_no']}"),
    ]
    assert kit.rows(
        "SELECT type, amount, points FROM refund_tenders WHERE type != 'card' ORDER BY seq, idx"
    ) == [
        ("points", 260, 260),
        ("stored_value", 433, 0),
        ("points", 40, 40),
        ("stored_value", 67, 0),
    ]
    db = open_store(kit.config)
    try:
        assert check_db(db).ok
    finally:
        db.conn.close()


def test_a_refund_paid_only_from_member_accounts_asks_no_terminal_and_opens_no_drawer(
    kit: LaneKit,
) -> None:
    fund(kit, stored_value=3000)
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MEMBER_GOLD)
    assert "sale_completed" in names(kit.cmd("redeem", type="stored_value"))
    kit.cmd("new_sale")
    receipt_no = kit.sale_events()[0]["receipt_no"]
    kit.login()
    events = refund(kit, receipt_no, 1)
    assert names(events) == ["refund_completed", "receipt_printed"]
    assert kit.kiosk.terminal.refunds == []
    (event,) = refund_events(kit)
    assert event["tenders"] == [{"type": "stored_value", "amount": 200}]
    assert balances(kit) == (0, 3000)


def test_earned_points_already_spent_are_taken_back_only_as_far_as_the_balance_goes(
    kit: LaneKit,
) -> None:
    fund(kit, stored_value=3000)
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    kit.cmd("scan", code=MEMBER_GOLD)
    kit.cmd("redeem", type="stored_value", amount=500)
    done = only(kit.cmd("pay", method="card"), "sale_completed")
    kit.cmd("new_sale")
    earned = kit.sale_events()[0]["member"]["points_earned"]
    assert earned == 13  # 13.60 × 990/1490 × 1.5 = 13.55
    db = open_store(kit.config)
    try:  # the member spent 10 of them elsewhere (here: a correction)
        credit(db, "C0001", "points", -10, TODAY, "spent at the desk")
    finally:
        db.conn.close()
    kit.login()
    refund(kit, done["receipt_no"], 1, 2)
    (event,) = refund_events(kit)
    assert event["member"] == {
        "id": "C0001",
        "points_refunded": 0,
        "stored_value_refunded": 500,
        "points_reversed": 13,
        "points_unrecovered": 10,
    }
    assert balances(kit) == (0, 3000)


def test_central_accepts_the_refund_with_member_accounts(kit: LaneKit) -> None:
    fund(kit, points=5000, stored_value=3000)
    sale = sell_with_member_accounts(kit)
    kit.login()
    refund(kit, sale["receipt_no"], 2)
    registry = KioskRegistry(stores=frozenset({"s0001"}))
    topic, payload = kit.rows("SELECT topic, payload FROM outbox ORDER BY seq")[-1]
    event = validate(topic, payload.encode(), registry, 262144)
    assert isinstance(event, CentralEvent), event
    assert isinstance(event.body, SaleRefunded)
    assert {t.type: t.amount for t in event.body.tenders} == {
        "card": 597,
        "points": 260,
        "stored_value": 433,
    }
    member = event.body.member
    assert member is not None
    assert (member.member_id, member.points_refunded, member.stored_value_refunded) == (
        "C0001",
        260,
        433,
    )
    assert (member.points_reversed, member.points_unrecovered) == (8, 0)
