"""Shifts through the lane on a real kiosk.db: float, pickups, X and Z reports of a shift with
sales, a return and a cash difference; the shift.closed event reconciled by central's finance
consumer (validation and apply, as from MQTT) and the return put back in stock by inventory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from central.apply import APPLIED, Applier, Inbound
from central.config import FinanceConfig, InventoryConfig, KioskRegistry
from central.finance import FinanceHandler
from central.inventory import InventoryHandler
from central.storage import init_schema, make_engine
from central.storage.schema import discrepancies, ledger_lines, shifts, stock_items
from kiosk.protocol.shift_event import SHIFT_CLOSED_SCHEMA
from kiosk.store import check_db, open_db
from tests.integration.lane_kit import (
    CHIPS,
    MILK,
    TOAST,
    WATER,
    LaneKit,
    error_of,
    make_kiosk,
    names,
    only,
)


@pytest.fixture
def kit(tmp_path: Path) -> LaneKit:
    return make_kiosk(tmp_path)


def outbox(kit: LaneKit) -> list[tuple[str, bytes]]:
    return [
        (str(topic), str(payload).encode("utf-8"))
        for topic, payload in kit.rows("SELECT topic, payload FROM outbox ORDER BY seq")
    ]


def a_day(kit: LaneKit) -> dict[str, Any]:
    """A shift with a float, three sales (card, cash, a discounted cash sale), a cash return
    and a pickup. Answers the receipts."""
    kit.login()
    opened = kit.cmd("shift_open", float=10000)
    assert names(opened) == ["shift_opened", "drawer_opened"]
    kit.logout()
    for code in (WATER, WATER, CHIPS[0]):
        kit.cmd("scan", code=code)
    card = only(kit.cmd("pay", method="card"), "sale_completed")  # 10.50
    kit.cmd("new_sale")
    kit.cmd("scan", code=MILK)
    kit.cmd("scan", code=WATER)
    kit.login()
    kit.cmd("pay", method="cash")
    cash = only(kit.cmd("cash", tendered=2000), "sale_completed")  # 14.90, change 5.10
    kit.cmd("new_sale")
    kit.cmd("scan", code=TOAST)
    kit.cmd("discount_line", line=1, amount=100, reason="damaged")
    kit.cmd("pay", method="cash")
    toast = only(kit.cmd("cash", tendered=1000), "sale_completed")  # 6.99 -> 7.00, change 3.00
    kit.cmd("new_sale")
    kit.cmd("return_start", receipt_no=cash["receipt_no"])
    kit.cmd("return_line", line=2)
    refund = only(kit.cmd("return_confirm"), "refund_completed")  # 2.00 in cash
    picked = kit.cmd("cash_pickup", amount=5000, reason="safe drop")
    assert names(picked) == ["cash_picked_up", "drawer_opened"]
    return {"card": card, "cash": cash, "toast": toast, "refund": refund}


def test_x_and_z_reports_of_a_shift_with_sales_a_return_pickups_and_a_difference(
    kit: LaneKit,
) -> None:
    day = a_day(kit)
    x = only(kit.cmd("x_report"), "x_report")
    figures = x["figures"]
    assert figures["sales"] == {
        "count": 3,
        "gross": 1050 + 1490 + 799,
        "discount": -100,
        "tax": figures["sales"]["tax"],
        "rounding": 1,
        "due": 1050 + 1490 + 700,
    }
    assert [(t["type"], t["count"], t["amount"], t["change"]) for t in figures["tenders"]] == [
        ("card", 1, 1050, 0),
        ("cash", 2, 2190, 510 + 300),
    ]
    assert (figures["refunds"]["count"], figures["refunds"]["due"]) == (1, 200)
    assert figures["refund_tenders"] == [{"type": "cash", "count": 1, "amount": 200, "change": 0}]
    assert figures["adjustments"] == [
        {
            "kind": "discount",
            "rule": "damaged",
            "count": 1,
            "amount": -100,
            "refunded": 0,
            "net": -100,
        }
    ]
    assert figures["cash"] == {
        "float": 10000,
        "sales": 2190,
        "refunds": 200,
        "pickups": 5000,
        "expected": 10000 + 2190 - 200 - 5000,
        "counted": None,
        "difference": None,
    }
    assert (figures["first_receipt"], figures["last_receipt"]) == (
        day["card"]["receipt_no"],
        day["toast"]["receipt_no"],
    )
    assert (figures["first_seq"], figures["last_seq"]) == (1, 4)
    assert x["job"] in kit.printed
    assert kit.count("journal") == 4  # an X report publishes nothing

    closed = kit.cmd("shift_close", counted=6900)
    assert names(closed) == ["shift_closed", "receipt_printed"]
    z = only(closed, "shift_closed")
    assert (z["expected"], z["counted"], z["difference"]) == (6990, 6900, -90)
    assert z["figures"]["sales"] == figures["sales"]
    assert z["figures"]["last_hash"] == kit.rows("SELECT hash FROM journal WHERE seq = 4")[0][0]
    assert z["job"] in kit.printed
    assert kit.audit("cash_difference")[0]["difference"] == -90
    (event,) = [json.loads(p) for t, p in outbox(kit) if t.endswith("/evt/shift.closed")]
    assert event["schema"] == SHIFT_CLOSED_SCHEMA
    assert (event["seq"], event["first_seq"], event["last_seq"]) == (5, 1, 4)
    assert event["sales"] == figures["sales"] and event["tenders"] == figures["tenders"]
    db = open_db(str(kit.db_path))
    try:
        assert check_db(db).ok
    finally:
        db.conn.close()
    text = json.loads(
        kit.rows("SELECT document FROM print_jobs WHERE kind = 'report' AND job_id LIKE '%/Z'")[0][
            0
        ]
    )
    assert text["receipt_no"] == z["job"]


def test_central_reconciles_the_shift_and_puts_the_return_back_in_stock(
    kit: LaneKit, tmp_path: Path
) -> None:
    a_day(kit)
    kit.cmd("shift_close", counted=6990)
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    init_schema(engine)
    registry = KioskRegistry(stores=frozenset({"s0001"}), known={})
    messages = [Inbound(topic, payload) for topic, payload in outbox(kit)]
    finance = Applier(engine, FinanceHandler(FinanceConfig()), registry, 262144, "fin")
    inventory = Applier(engine, InventoryHandler(InventoryConfig()), registry, 262144, "inv")
    assert finance.apply(messages).outcomes == [APPLIED] * 5
    assert inventory.apply(messages).outcomes == [APPLIED] * 5
    with engine.connect() as conn:
        (shift,) = conn.execute(select(shifts)).all()
        found = list(conn.execute(select(discrepancies.c.detail)).scalars())
        water = conn.execute(
            select(stock_items.c.on_hand_milli).where(stock_items.c.sku == "100001")
        ).scalar()
        refund_lines = conn.execute(
            select(ledger_lines.c.account, ledger_lines.c.amount).where(ledger_lines.c.seq == 4)
        ).all()
    engine.dispose()
    assert (shift.status, shift.first_seq, shift.last_seq, found) == ("reconciled", 1, 4, [])
    assert water == -3000 + 1000  # three sold, one returned
    assert ("refund", -200) in refund_lines


def test_the_next_shift_starts_after_the_close_and_an_empty_shift_closes(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("shift_open")
    first = only(kit.cmd("shift_close", counted=0), "shift_closed")
    assert (first["figures"]["first_seq"], first["figures"]["last_seq"]) == (1, 0)
    kit.logout()
    kit.cmd("scan", code=WATER)
    kit.cmd("pay", method="card")
    kit.cmd("new_sale")
    kit.login()
    opened = only(kit.cmd("shift_open", per="attendant"), "shift_opened")
    assert opened["shift"] == f"{kit.config.kiosk.id}-shift-2"
    second = only(kit.cmd("shift_close", counted=0), "shift_closed")
    assert (second["figures"]["first_seq"], second["figures"]["last_seq"]) == (2, 2)
    assert second["figures"]["sales"]["count"] == 1


def test_a_shift_per_attendant_is_closed_by_its_attendant_or_a_supervisor(kit: LaneKit) -> None:
    kit.login("ST0001")
    kit.cmd("shift_open", per="attendant", float=5000)
    kit.logout()
    kit.login("ST0007")
    refused = error_of(kit.cmd("shift_close", counted=5000))
    assert refused["code"] == "not_allowed" and "E01" in refused["message"]
    assert error_of(kit.cmd("cash_pickup", amount=100))["code"] == "not_allowed"
    kit.logout()
    kit.login("ST0002")
    assert only(kit.cmd("shift_close", counted=5000), "shift_closed")["difference"] == 0


def test_an_open_shift_survives_a_restart(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("shift_open", float=2000)
    kit.cmd("cash_pickup", amount=500)
    kit.restart()
    kit.login()
    refused = error_of(kit.cmd("shift_open"))
    assert refused["code"] == "wrong_state" and "still open" in refused["message"]
    z = only(kit.cmd("shift_close", counted=1500), "shift_closed")
    assert (z["expected"], z["difference"]) == (1500, 0)


def test_shift_commands_refuse_what_they_cannot_do(kit: LaneKit) -> None:
    assert error_of(kit.cmd("shift_open"))["code"] == "not_allowed"
    kit.login()
    for cmd, args in (
        ("x_report", {}),
        ("cash_pickup", {"amount": 100}),
        ("shift_close", {"counted": 0}),
    ):
        refused = error_of(kit.cmd(cmd, **args))
        assert refused["code"] == "wrong_state" and "no shift is open" in refused["message"]
    cases = [
        ({"cmd": "shift_open", "per": "store"}, "per must be one of kiosk, attendant"),
        ({"cmd": "shift_open", "float": -1}, "float -1 must be from 0"),
    ]
    for message, match in cases:
        refused = error_of(kit.kiosk.lane.handle(message))
        assert refused["code"] == "invalid_command" and match in refused["message"]
    kit.cmd("shift_open")
    for message, match in [
        ({"cmd": "cash_pickup", "amount": 0}, "amount 0 must be from 1"),
        ({"cmd": "shift_close", "counted": -5}, "counted -5 must be from 0"),
    ]:
        refused = error_of(kit.kiosk.lane.handle(message))
        assert refused["code"] == "invalid_command" and match in refused["message"]
    kit.logout()
    kit.cmd("scan", code=WATER)
    kit.login()
    refused = error_of(kit.cmd("shift_close", counted=0))
    assert refused["code"] == "wrong_state" and "sale is in progress" in refused["message"]
    kit.cmd("cancel_sale")
    kit.cmd("scan", code=WATER)
    kit.logout()
    kit.cmd("pay", method="card")
    kit.login()
    kit.cmd("return_start", receipt_no=kit.sale_events()[-1]["receipt_no"])
    refused = error_of(kit.cmd("shift_close", counted=0))
    assert refused["code"] == "wrong_state" and "a return is open" in refused["message"]
    assert kit.count("shifts") == 1
