"""The attendant's queue and panel (kiosk.ui.presenters.attendant) without Kivy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kiosk.interventions import REASONS
from kiosk.lane_protocol import parse_command
from kiosk.ui.presenters import attendant as p

NOW = datetime(2026, 11, 27, 9, 30, 0, tzinfo=UTC)


def t(msgid: str) -> str:
    return msgid


def money(minor: int) -> str:
    return f"¥{minor // 100}.{minor % 100:02d}"


def seconds(value: int) -> str:
    return f"{value}s"


def intervention(
    reason: str, opened_at: str = "2026-11-27T09:28:00.000Z", **kw: Any
) -> dict[str, Any]:
    return {
        "intervention": f"id-{reason}",
        "reason": reason,
        "line": kw.pop("line", None),
        "opened_at": opened_at,
        "blocking": kw.pop("blocking", True),
        "detail": kw.pop("detail", {}),
    }


def view(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "mode": "scanning",
        "currency": "CNY",
        "lines": [
            {
                "line": 1,
                "name": "Coastline Lager 500ml",
                "qty": "1",
                "unit_price": 550,
                "amount": 550,
                "adjustments": [],
                "voided": False,
                "age_limit": 18,
            }
        ],
        "totals": {"remaining": 550},
        "tenders": [],
        "interventions": [],
        "attendant": {"staff": "E01", "name": "王芳", "role": "attendant"},
        "out_of_service": None,
        "last_receipt": None,
    }
    base.update(kw)
    return base


def test_waiting_seconds_from_opened_at() -> None:
    assert p.waiting_seconds("2026-11-27T09:28:00.000Z", NOW) == 120
    assert p.waiting_seconds("2026-11-27T09:31:00Z", NOW) == 0  # clock skew: never negative
    assert p.waiting_seconds("not a time", NOW) == 0
    assert p.waiting_seconds(None, NOW) == 0


def test_duration_text_is_localised() -> None:
    assert p.duration_text(45, "en") == "45 sec"
    assert p.duration_text(180, "en") == "3 min"
    assert p.duration_text(180, "zh_CN") == "3分钟"
    assert p.duration_text(-5, "en") == "0 sec"


def test_age_check_row_shows_item_wait_and_approve_command() -> None:
    item = intervention("age_check", line=1, detail={"age": 18, "name": "Coastline Lager 500ml"})
    rows = p.queue_rows(view(interventions=[item]), NOW, t, seconds)
    (row,) = rows
    assert row.title == "Age check"
    assert row.item == "Coastline Lager 500ml (age 18+)"
    assert row.waiting == "120s"
    assert row.line == 1
    approve, reject = row.actions
    assert approve.command == {
        "cmd": "clear",
        "intervention": "id-age_check",
        "resolution": "approve",
    }
    assert reject.command is not None
    assert reject.command["resolution"] == "reject"
    assert reject.danger


def test_queue_puts_blocking_first_then_longest_waiting() -> None:
    items = [
        intervention("help", "2026-11-27T09:00:00Z", blocking=False),
        intervention("void", "2026-11-27T09:29:00Z", line=1),
        intervention("unknown_item", "2026-11-27T09:10:00Z", detail={"code": "0123"}),
    ]
    rows = p.queue_rows(view(interventions=items), NOW, t, seconds)
    assert [r.reason for r in rows] == ["unknown_item", "void", "help"]
    assert rows[0].item == "Code 0123"
    assert rows[1].item == "Coastline Lager 500ml"  # the line's name when detail has none


def test_every_reason_has_a_title_and_commands_the_lane_accepts() -> None:
    for reason in REASONS:
        assert reason in p.REASON_MSGIDS, reason
        actions = p.actions_for(intervention(reason), t)
        assert actions, reason
        for action in actions:
            assert action.command is not None or action.screen is not None
            if action.command is not None:
                parse_command(action.command)  # raises InvalidCommand if malformed


def test_unknown_item_opens_the_item_screen_and_payment_unknown_too() -> None:
    keys = {a.key: a for a in p.actions_for(intervention("unknown_item"), t)}
    assert keys["key_in"].screen == p.ITEM_SCREEN
    assert keys["key_in"].command is None
    keys = {a.key: a for a in p.actions_for(intervention("payment_unknown"), t)}
    assert keys["key_in"].screen == p.ITEM_SCREEN
    keys = {a.key: a for a in p.actions_for(intervention("cash_payment"), t)}
    assert keys["cash"].screen == p.CASH_SCREEN


def test_printer_fault_with_a_job_retries_it_and_print_uncertain_reprints() -> None:
    fault = intervention("printer_fault", detail={"job": "s0001-k01-3", "message": "paper_out"})
    (retry, _close) = p.actions_for(fault, t)
    assert retry.command == {"cmd": "retry_print", "job": "s0001-k01-3"}
    uncertain = intervention("print_uncertain", detail={"receipt_no": "s0001-k01-3"})
    (reprint, _ok) = p.actions_for(uncertain, t)
    assert reprint.command == {"cmd": "reprint", "receipt_no": "s0001-k01-3"}
    without_job = p.actions_for(intervention("printer_fault", detail={"job": None}), t)
    assert [a.key for a in without_job] == ["approve"]


def test_panel_for_a_sale_in_progress() -> None:
    panel = p.attendant_panel(view(), NOW, t, money, seconds)
    assert panel.staff == "王芳"
    assert panel.role == "Attendant"
    assert panel.mode_text == "Scanning"
    assert panel.remaining == "¥5.50"
    assert panel.can_cancel_sale
    assert panel.can_take_cash
    assert panel.can_edit_lines
    assert not panel.out_of_service
    assert panel.empty_text == "Nothing is waiting for you."
    (line,) = panel.lines
    assert (line.line, line.amount, line.age_limit) == (1, "¥5.50", 18)


def test_panel_after_a_tender_cannot_cancel_and_idle_has_nothing_to_pay() -> None:
    paid = view(mode="paying", tenders=[{"type": "cash", "amount": 100}])
    assert not p.attendant_panel(paid, NOW, t, money, seconds).can_cancel_sale
    idle = view(mode="idle", lines=[], totals={"remaining": 0})
    panel = p.attendant_panel(idle, NOW, t, money, seconds)
    assert not panel.can_take_cash
    assert not panel.can_cancel_sale
    assert not panel.can_edit_lines


def test_panel_out_of_service_and_supervisor() -> None:
    closed = view(
        mode="out_of_service",
        out_of_service="closed by staff",
        attendant={"staff": "E02", "name": "李强", "role": "supervisor"},
    )
    panel = p.attendant_panel(closed, NOW, t, money, seconds)
    assert panel.out_of_service
    assert panel.out_of_service_reason == "closed by staff"
    assert panel.role == "Supervisor"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            p.out_of_service_command(True, " cleaning "),
            {"cmd": "out_of_service", "on": True, "reason": "cleaning"},
        ),
        (p.out_of_service_command(True), {"cmd": "out_of_service", "on": True}),
        (p.out_of_service_command(False, "x"), {"cmd": "out_of_service", "on": False}),
        (p.cancel_sale_command(), {"cmd": "cancel_sale"}),
        (p.logout_command(), {"cmd": "staff_logout"}),
        (p.reprint_command(), {"cmd": "reprint"}),
        (p.reprint_command("s0001-k01-1"), {"cmd": "reprint", "receipt_no": "s0001-k01-1"}),
    ],
)
def test_commands_are_valid_lane_commands(
    command: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert command == expected
    parse_command(command)


def test_closing_the_lane_offers_the_reasons_customers_are_told_none_or_not_at_all() -> None:
    from kiosk.ui.presenters.notices import CUSTOMER_REASONS

    actions = p.close_lane_actions(t)
    assert [a.key for a in actions] == [
        "cleaning",
        "maintenance",
        "end of day",
        "no_reason",
        "keep_open",
    ]
    for action in actions[:3]:  # each a reason the customer screen has words for
        assert action.key in CUSTOMER_REASONS
        assert action.command == {"cmd": "out_of_service", "on": True, "reason": action.key}
        parse_command(dict(action.command))
    assert actions[3].command == {"cmd": "out_of_service", "on": True}
    assert actions[4].command is None and actions[4].label == "Keep it open"
