"""The attendant's shift screen (kiosk.ui.presenters.attendant_shift) without Kivy."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.lane_protocol import parse_command
from kiosk.ui.presenters.attendant_entry import EntryError
from kiosk.ui.presenters.attendant_shift import ShiftDesk, report_text


def t(msgid: str) -> str:
    return msgid


def money(minor: int) -> str:
    return f"¥{minor // 100}.{minor % 100:02d}"


FIGURES: dict[str, Any] = {
    "currency": "CNY",
    "first_receipt": "s0001-k01-1",
    "last_receipt": "s0001-k01-2",
    "sales": {"count": 2, "gross": 2000, "discount": -100, "tax": 207, "rounding": -3, "due": 1897},
    "tenders": [
        {"type": "cash", "count": 1, "amount": 1260, "change": 740},
        {"type": "card", "count": 1, "amount": 637, "change": 0},
    ],
    "refunds": {"count": 0, "gross": 0, "discount": 0, "tax": 0, "rounding": 0, "due": 0},
    "cash": {
        "float": 10000,
        "sales": 1260,
        "refunds": 0,
        "pickups": 0,
        "expected": 11260,
        "counted": 11200,
        "difference": -60,
    },
}


def test_report_text_lays_out_the_figures() -> None:
    text = report_text("z", "s0001-k01-shift-1", FIGURES, t, money)
    lines = text.splitlines()
    assert lines[0] == "Z report (shift closed): s0001-k01-shift-1"
    assert "Sales: 2 / ¥18.97" in lines
    assert "  Cash: 1 / ¥12.60" in lines
    assert "  Card: 1 / ¥6.37" in lines
    assert "Receipts: s0001-k01-1 - s0001-k01-2" in lines
    assert "Cash expected: ¥112.60" in lines
    assert "Cash counted: ¥112.00" in lines
    assert "Difference: " + money(-60) in lines


def test_x_report_has_no_counted_cash() -> None:
    figures = {**FIGURES, "cash": {**FIGURES["cash"], "counted": None, "difference": None}}
    text = report_text("x", "s0001-k01-shift-1", figures, t, money)
    assert text.startswith("X report (so far)")
    assert "Cash counted" not in text


def test_open_x_and_close_commands() -> None:
    desk = ShiftDesk("CNY")
    assert desk.open_command() == {"cmd": "shift_open", "float": 0}
    for key in ("1", "0", "0", "00"):
        desk.press(key)
    assert desk.open_command() == {"cmd": "shift_open", "float": 10000}
    assert ShiftDesk.x_report_command() == {"cmd": "x_report"}
    assert desk.close_command() == {"cmd": "shift_close", "counted": 10000}
    for command in (desk.open_command(), desk.close_command(), ShiftDesk.x_report_command()):
        parse_command(command)


def test_closing_needs_the_counted_cash_typed_even_when_zero() -> None:
    desk = ShiftDesk("CNY")
    with pytest.raises(EntryError, match="Count the cash"):
        desk.close_command()
    desk.press("0")
    assert desk.close_command() == {"cmd": "shift_close", "counted": 0}


def test_lane_answers_fill_the_report_and_status() -> None:
    desk = ShiftDesk("CNY")
    desk.on_lane([{"event": "shift_opened", "shift": "s0001-k01-shift-1", "float": 0}])
    model = desk.model(t, money)
    assert model.status == "Shift s0001-k01-shift-1 is open"
    assert model.report == ""
    desk.on_lane([{"event": "x_report", "shift": "s0001-k01-shift-1", "figures": FIGURES}])
    model = desk.model(t, money)
    assert model.report.startswith("X report")
    assert not model.closed
    desk.press("5")
    desk.on_lane(
        [
            {
                "event": "shift_closed",
                "shift": "s0001-k01-shift-1",
                "difference": -60,
                "figures": FIGURES,
            }
        ]
    )
    model = desk.model(t, money)
    assert model.closed
    assert model.report.startswith("Z report")
    assert model.difference == money(-60)
    assert model.amount == "¥0.00"
    desk.reset()
    assert desk.model(t, money).report == ""
