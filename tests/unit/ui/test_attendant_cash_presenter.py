"""The attendant's cash screen (kiosk.ui.presenters.attendant_cash) without Kivy."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.lane_protocol import parse_command
from kiosk.ui.presenters.attendant_cash import (
    DRAWER_CLOSED,
    DRAWER_FAULT,
    DRAWER_OPEN,
    DRAWER_UNKNOWN,
    CashDesk,
    drawer_state,
    quick_tenders,
)
from kiosk.ui.presenters.attendant_entry import EntryError


def t(msgid: str) -> str:
    return msgid


def money(minor: int) -> str:
    return f"¥{minor // 100}.{minor % 100:02d}"


def devices(detail: str, ok: bool = True) -> list[dict[str, Any]]:
    return [
        {"name": "printer", "kind": "fake", "ok": True, "detail": "ready", "fake": True},
        {"name": "drawer", "kind": "fake", "ok": ok, "detail": detail, "fake": True},
    ]


def view(remaining: int = 1263, drawer: str = "closed", **kw: Any) -> dict[str, Any]:
    return {
        "mode": "scanning",
        "totals": {"remaining": remaining},
        "devices": devices(drawer),
        **kw,
    }


def test_drawer_state_from_the_device_list() -> None:
    assert drawer_state(view(drawer="open")) == DRAWER_OPEN
    assert drawer_state(view(drawer="closed")) == DRAWER_CLOSED
    assert drawer_state(view(drawer="no switch fitted")) == DRAWER_UNKNOWN
    assert drawer_state({"devices": devices("relay fault", ok=False)}) == DRAWER_FAULT
    assert drawer_state({"devices": []}) == DRAWER_UNKNOWN


def test_quick_tenders_are_exact_then_the_next_notes() -> None:
    assert quick_tenders(1263, "CNY") == (1263, 2000, 5000, 10000)
    assert quick_tenders(500, "CNY") == (500, 1000, 2000, 5000)
    assert quick_tenders(0, "CNY") == ()
    assert quick_tenders(950, "JPY") == (950, 1000)  # no minor units: 1000 yen is the note


def test_cash_command_needs_an_amount_and_something_to_pay() -> None:
    desk = CashDesk("CNY")
    with pytest.raises(EntryError, match="amount"):
        desk.cash_command(1263)
    desk.entry.set_minor(2000)
    command = desk.cash_command(1263)
    assert command == {"cmd": "cash", "tendered": 2000}
    parse_command(command)
    with pytest.raises(EntryError, match="Nothing is left"):
        desk.cash_command(0)
    desk.entry.press("clear")
    desk.entry.press("0")
    with pytest.raises(EntryError, match="at least"):
        desk.cash_command(1263)


def test_change_and_waiting_for_the_drawer_then_closed() -> None:
    desk = CashDesk("CNY")
    desk.entry.set_minor(2000)
    model = desk.model(view(), t, money)
    assert model.remaining == "¥12.63"
    assert model.tendered == "¥20.00"
    assert model.can_take
    assert not model.taken
    assert model.quick[0] == (1263, "¥12.63")
    desk.on_lane(
        [
            {"event": "payment_started", "due": 1260},
            {
                "event": "cash_taken",
                "tendered": 2000,
                "amount": 1260,
                "change": 740,
                "rounding": -3,
                "remaining": 0,
            },
            {"event": "drawer_opened"},
            {"event": "sale_completed", "receipt_no": "s0001-k01-1"},
        ]
    )
    model = desk.model(view(remaining=0, drawer="open", mode="complete"), t, money)
    assert model.taken
    assert model.change == "¥7.40"
    assert model.change_minor == 740
    assert model.still_to_pay == ""
    assert model.waiting_for_drawer
    assert model.drawer_text == "Waiting for the drawer to close"
    assert model.completed
    assert model.tendered == "¥20.00"  # what was handed over, beside its change
    desk.entry.press("5")
    assert desk.model(view(remaining=0), t, money).tendered == "¥0.05"  # a new amount typed
    desk.entry.press("clear")
    desk.on_lane([{"event": "device_status", "device": "drawer", "status": "closed"}])
    model = desk.model(view(remaining=0, drawer="closed"), t, money)
    assert not model.waiting_for_drawer
    assert model.drawer_text == "The drawer is closed"


def test_part_payment_shows_what_is_still_to_pay() -> None:
    desk = CashDesk("CNY")
    desk.on_lane(
        [{"event": "cash_taken", "tendered": 1000, "amount": 1000, "change": 0, "remaining": 263}]
    )
    assert desk.model(view(remaining=263), t, money).still_to_pay == "¥2.63"


def test_a_drawer_fault_is_shown_with_its_message() -> None:
    desk = CashDesk("CNY")
    desk.on_lane([{"event": "device_fault", "device": "drawer", "message": "relay stuck"}])
    model = desk.model(view(), t, money)
    assert model.drawer == DRAWER_FAULT
    assert model.drawer_text == "The drawer did not open: relay stuck"
    assert not model.waiting_for_drawer


def test_no_sale_drawer_needs_a_reason() -> None:
    command = CashDesk.no_sale_command(" count the float ")
    assert command == {"cmd": "open_drawer", "reason": "count the float"}
    parse_command(command)
    with pytest.raises(EntryError, match="why"):
        CashDesk.no_sale_command("  ")
    reasons = CashDesk("CNY").model(view(), t, money).no_sale_reasons
    assert ("device test", "Device test") in reasons


def test_reset_forgets_the_last_payment() -> None:
    desk = CashDesk("CNY")
    desk.entry.set_minor(500)
    desk.on_lane(
        [{"event": "cash_taken", "change": 10, "remaining": 0}, {"event": "drawer_opened"}]
    )
    desk.reset()
    model = desk.model(view(drawer="open"), t, money)
    assert not model.taken
    assert not model.waiting_for_drawer
    assert model.drawer_text == "The drawer is open"
    assert desk.entry.empty
