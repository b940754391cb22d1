"""Attendant work on a real kiosk.db: logging in (badge, PIN, lockout), voids, price overrides,
manual discounts, cancelling a sale, out of service and opening the drawer.

Checks the events, the view and what kiosk.db holds: audit rows, the attendant actions that go
with the sale, and the committed sale lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.lane_kit import (
    BEER,
    MILK,
    WATER,
    error_of,
    line_view,
    make_kiosk,
    names,
    only,
)


# ------------------------------------------------------------------------------ logging in
def test_staff_log_in_by_badge_and_the_same_badge_logs_out(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = kit.cmd("scan", code="ST0001")
    assert only(events, "staff_logged_in") == {
        "event": "staff_logged_in",
        "staff": "E01",
        "name": "王芳",
        "role": "attendant",
    }
    assert kit.view()["attendant"] == {"staff": "E01", "name": "王芳", "role": "attendant"}
    assert kit.view()["mode"] == "idle"  # a badge opens no sale
    assert names(kit.cmd("scan", code="ST0001")) == ["staff_logged_out"]
    assert kit.view()["attendant"] is None
    assert [(a["staff"], a["how"]) for a in kit.audit("login")] == [("E01", "badge")]
    assert kit.audit("logout") == [{"staff": "E01"}]


def test_staff_log_in_by_pin(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = kit.cmd("staff_login", staff_id="E02", pin="9999")
    assert only(events, "staff_logged_in")["role"] == "supervisor"
    assert kit.audit("login") == [{"staff": "E02", "how": "pin"}]


def test_a_second_login_logs_the_first_attendant_out(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.login("ST0001")
    events = kit.cmd("staff_login", badge="ST0002")
    assert names(events) == ["staff_logged_out", "staff_logged_in"]
    assert kit.view()["attendant"]["staff"] == "E02"
    assert kit.audit("logout") == [{"staff": "E01"}]


def test_bad_logins_are_refused_and_log_nobody_in(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    cases = [
        ({"badge": "ST9999"}, "auth_failed", "unknown staff badge"),
        ({"staff_id": "E99", "pin": "1234"}, "auth_failed", "unknown staff id or no PIN set"),
        (
            {"staff_id": "E01"},
            "invalid_command",
            "staff_login needs 'badge', or 'staff_id' and 'pin'",
        ),
        ({}, "invalid_command", "staff_login needs 'badge', or 'staff_id' and 'pin'"),
        (
            {"badge": "ST0001", "pin": "1234"},
            "invalid_command",
            "staff_login takes 'badge', or 'staff_id' and 'pin', not both",
        ),
    ]
    for args, code, message in cases:
        error = error_of(kit.cmd("staff_login", **args))
        assert (error["code"], error["message"]) == (code, message), args
    assert kit.view()["attendant"] is None
    assert error_of(kit.cmd("staff_logout"))["code"] == "wrong_state"


def test_wrong_pins_lock_the_staff_member_out_until_the_lockout_ends(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, staff={"max_failures": 3, "lockout_s": 300})
    for n in (1, 2):
        error = error_of(kit.cmd("staff_login", staff_id="E01", pin="0000"))
        assert (error["code"], error["message"]) == ("auth_failed", "wrong PIN"), n
    last = error_of(kit.cmd("staff_login", staff_id="E01", pin="0000"))
    assert last["message"] == "wrong PIN - now locked out"
    assert [a["failures"] for a in kit.audit("login_failed")] == [1, 2, 3]
    locked = error_of(kit.cmd("staff_login", staff_id="E01", pin="1234"))  # even the right PIN
    assert locked["message"] == ("E01 is locked out after too many wrong PINs; try again in 301 s")
    assert error_of(kit.cmd("scan", code="ST0001"))["code"] == "auth_failed"  # badge too
    kit.clock.advance(299)
    assert error_of(kit.cmd("staff_login", staff_id="E01", pin="1234"))["code"] == "auth_failed"
    kit.clock.advance(1)
    # The lockout is over: a fresh run of attempts (one wrong PIN does not lock again)...
    assert error_of(kit.cmd("staff_login", staff_id="E01", pin="0000"))["message"] == "wrong PIN"
    # ...and the right PIN logs in and resets the count.
    assert names(kit.cmd("staff_login", staff_id="E01", pin="1234")) == ["staff_logged_in"]
    assert kit.rows("SELECT failures, locked_until FROM staff WHERE staff_id = 'E01'") == [
        (0, None)
    ]


def test_other_staff_are_not_locked_out_by_someone_elses_wrong_pins(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path, staff={"max_failures": 1, "lockout_s": 60})
    kit.cmd("staff_login", staff_id="E01", pin="0000")
    assert names(kit.cmd("staff_login", staff_id="E07", pin="2468")) == ["staff_logged_in"]


def test_the_attendant_session_is_not_restored_after_a_restart(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.login()
    kit.restart()
    assert kit.view()["attendant"] is None
    assert error_of(kit.cmd("void_line", line=1))["code"] == "not_allowed"


def test_a_supervisor_may_do_what_an_attendant_may(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=BEER)
    kit.login("ST0002")
    assert "intervention_cleared" in names(
        kit.cmd("clear", intervention="age_check", resolution="approve")
    )
    assert names(kit.cmd("void_line", line=1)) == ["line_voided"]
    assert [(a["kind"], a["staff"]) for a in kit.snapshot()["actions"]] == [
        ("age_check", "E02"),
        ("void", "E02"),
    ]


# ------------------------------------------------------------------------------ commands need one
def test_attendant_commands_without_a_login_are_not_allowed_and_change_nothing(
    tmp_path: Path,
) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    before = kit.snapshot()
    commands: list[tuple[str, dict[str, Any]]] = [
        ("void_line", {"line": 1}),
        ("price_override", {"line": 1, "unit_price": 100, "reason": "label"}),
        ("discount_line", {"line": 1, "amount": 10, "reason": "dented"}),
        ("cancel_sale", {}),
        ("out_of_service", {"on": True}),
        ("open_drawer", {"reason": "float"}),
        ("clear", {"intervention": "help", "resolution": "approve"}),
        ("cash", {"tendered": 1000}),
    ]
    for name, args in commands:
        error = error_of(kit.cmd(name, **args))
        assert (error["code"], error["message"]) == (
            "not_allowed",
            "an attendant must log in for this",
        ), name
    assert kit.snapshot() == before
    assert kit.kiosk.drawer.pulses == []


def test_void_line_voids_at_once_and_records_the_attendant(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    kit.login()
    assert names(kit.cmd("void_line", line=2)) == ["line_voided"]
    assert error_of(kit.cmd("void_line", line=2))["code"] == "not_found"  # already voided
    assert kit.view()["totals"]["due"] == 200
    action = kit.snapshot()["actions"][0]
    assert (action["kind"], action["staff"], action["detail"]) == ("void", "E01", "line 2 100006")
    kit.logout()
    kit.cmd("pay", method="card")
    assert kit.rows("SELECT line_no, sku FROM sale_lines") == [(1, "100001")]


def test_lowering_a_quantity_is_recorded_as_a_partial_void(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("add", sku="100001", qty="5")
    kit.login()
    kit.cmd("set_qty", line=1, qty="2")
    action = kit.snapshot()["actions"][0]
    assert (action["kind"], action["detail"]) == ("void", "line 1 100001 qty 5 -> 2")


# ------------------------------------------------------------------------------ prices
def test_price_override_with_a_reason_sets_the_line_amount(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("add", sku="100001", qty="2")
    kit.login()
    events = kit.cmd("price_override", line=1, unit_price=150, reason="shelf label 1.50")
    assert only(events, "line_changed")["adjustment"] == {
        "amount": -100,
        "kind": "price_override",
        "reason": "shelf label 1.50",
        "source": "E01",
    }
    line = line_view(kit.view(), 1)
    assert (line["gross"], line["discount"], line["amount"]) == (400, -100, 300)
    # A second override replaces the first.
    kit.cmd("price_override", line=1, unit_price=180, reason="manager price")
    line = line_view(kit.view(), 1)
    assert [a["amount"] for a in line["adjustments"]] == [-40]
    assert line["amount"] == 360
    actions = [(a["kind"], a["detail"]) for a in kit.snapshot()["actions"]]
    assert actions == [
        ("price_override", "line 1: 400 -> 300 (shelf label 1.50)"),
        ("price_override", "line 1: 400 -> 360 (manager price)"),
    ]
    kit.logout()
    kit.cmd("pay", method="card")
    assert kit.rows("SELECT gross, discount, amount FROM sale_lines") == [(400, -40, 360)]
    assert kit.rows("SELECT due, paid FROM sales") == [(360, 360)]


def test_price_override_refuses_a_blank_reason_or_a_negative_price(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.login()
    blank = error_of(kit.cmd("price_override", line=1, unit_price=100, reason="  "))
    assert (blank["code"], blank["message"]) == ("invalid_command", "price_override needs a reason")
    negative = error_of(kit.cmd("price_override", line=1, unit_price=-1, reason="x"))
    assert negative["message"] == "price_override.unit_price must be 0 or more"
    missing = error_of(kit.cmd("price_override", line=1, unit_price=100))
    assert missing["message"] == "price_override needs 'reason'"
    assert line_view(kit.view(), 1)["adjustments"] == []


def test_manual_line_discount_by_amount_and_by_percent(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    kit.login()
    kit.cmd("discount_line", line=1, amount=50, reason="dented")
    events = kit.cmd("discount_line", line=2, percent="10", reason="near best-before")
    assert only(events, "line_changed")["adjustment"]["amount"] == -129  # 10 % of 12.90
    view = kit.view()
    assert (line_view(view, 1)["amount"], line_view(view, 2)["amount"]) == (150, 1161)
    assert view["totals"]["discount"] == -179
    assert view["totals"]["due"] == 1311
    kit.logout()
    kit.cmd("pay", method="card")
    assert kit.rows("SELECT line_no, discount, amount FROM sale_lines ORDER BY line_no") == [
        (1, -50, 150),
        (2, -129, 1161),
    ]
    assert [(a["kind"], a["detail"]) for a in kit.audit("intervention_cleared")] == []


def test_bad_discounts_are_refused_naming_the_argument(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.login()
    cases = [
        ({"line": 1, "reason": "x"}, "discount_line needs exactly one of 'amount' or 'percent'"),
        (
            {"line": 1, "amount": 10, "percent": "5", "reason": "x"},
            "discount_line needs exactly one of 'amount' or 'percent'",
        ),
        ({"line": 1, "amount": 201, "reason": "x"}, "discount_line.amount 201 must be from 1"),
        ({"line": 1, "amount": 0, "reason": "x"}, "discount_line.amount 0 must be from 1"),
        ({"line": 1, "percent": "120", "reason": "x"}, "discount_line.percent 120 is outside"),
        ({"line": 1, "percent": "0", "reason": "x"}, "discount_line.percent 0 is outside"),
        ({"line": 1, "amount": 10, "reason": ""}, "discount_line needs a reason"),
        ({"line": 9, "amount": 10, "reason": "x"}, "there is no line 9 in the basket"),
    ]
    for args, message in cases:
        error = error_of(kit.cmd("discount_line", **args))
        assert error["message"].startswith(message), (args, error)
    assert line_view(kit.view(), 1)["amount"] == 200


# ------------------------------------------------------------------------------ the sale
def test_cancel_sale_empties_the_lane_and_is_audited(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=BEER)
    kit.cmd("help")
    sale_id = kit.view()["sale_id"]
    kit.login()
    events = kit.cmd("cancel_sale")
    assert names(events) == ["intervention_cleared", "sale_cancelled"]
    assert only(events, "intervention_cleared")["reason"] == "age_check"  # blocking: rejected
    assert only(events, "sale_cancelled") == {
        "event": "sale_cancelled",
        "sale_id": sale_id,
        "staff": "E01",
    }
    view = kit.view()
    assert (view["mode"], view["sale_id"], view["lines"]) == ("idle", None, [])
    assert [i["reason"] for i in view["interventions"]] == ["help"]  # kept for the attendant
    assert kit.audit("sale_cancelled") == [{"sale_id": sale_id, "staff": "E01", "lines": 2}]
    assert kit.snapshot()["mode"] == "idle"
    assert kit.committed()["sales"] == 0
    assert error_of(kit.cmd("cancel_sale"))["code"] == "wrong_state"


def test_cancel_sale_is_refused_once_part_of_it_is_paid(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("add", sku="100006", qty="2")
    kit.cmd("pay", method="card", amount=1000)
    kit.login()
    error = error_of(kit.cmd("cancel_sale"))
    assert error["code"] == "wrong_state"
    assert "already taken" in error["message"]
    assert kit.view()["totals"]["paid"] == 1000


# ------------------------------------------------------------------------------ the lane
def test_out_of_service_on_and_off_is_audited_and_refuses_items(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.login()
    events = kit.cmd("out_of_service", on=True, reason="cleaning the scanner")
    assert only(events, "out_of_service") == {
        "event": "out_of_service",
        "on": True,
        "reason": "cleaning the scanner",
    }
    assert kit.kiosk.light.state == "out_of_service"
    assert kit.view()["out_of_service"] == "cleaning the scanner"
    refused = error_of(kit.cmd("scan", code=WATER))
    assert (refused["code"], refused["message"]) == (
        "wrong_state",
        "the lane is out of service: cleaning the scanner",
    )
    assert error_of(kit.cmd("add", sku="100001"))["code"] == "wrong_state"
    assert only(kit.cmd("search", query="milk"), "search_results")["products"]  # still works
    kit.restart()
    assert kit.view()["mode"] == "out_of_service"  # survives a restart
    kit.login()
    assert only(kit.cmd("out_of_service", on=False), "out_of_service")["on"] is False
    assert kit.view()["mode"] == "idle"
    assert kit.kiosk.light.state == "ready"
    assert [a["on"] for a in kit.audit("out_of_service")] == [True, False]
    assert error_of(kit.cmd("out_of_service", on=False))["code"] == "wrong_state"


def test_out_of_service_is_refused_with_a_basket_in_progress(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    kit.login()
    error = error_of(kit.cmd("out_of_service", on=True))
    assert error["message"] == "finish or cancel the sale in progress first"
    assert kit.view()["mode"] == "scanning"


def test_open_drawer_pulses_the_drawer_and_is_audited(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.login()
    assert error_of(kit.cmd("open_drawer", reason=" "))["message"] == "open_drawer needs a reason"
    assert kit.kiosk.drawer.pulses == []
    assert names(kit.cmd("open_drawer", reason="change float")) == ["drawer_opened"]
    assert kit.kiosk.drawer.pulses == [kit.clock.now()]
    assert kit.kiosk.drawer.is_open() is True
    assert kit.audit("drawer_opened") == [
        {"staff": "E01", "reason": "change float", "sale_id": None}
    ]


def test_a_drawer_fault_on_open_drawer_opens_a_drawer_fault_intervention(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.login()
    kit.kiosk.drawer.fail_next("relay driver not responding")
    events = kit.cmd("open_drawer", reason="float")
    assert names(events) == ["device_fault", "intervention_opened"]
    assert events[0] == {
        "event": "device_fault",
        "device": "drawer",
        "message": "relay driver not responding",
    }
    assert events[1]["reason"] == "drawer_fault"
    assert kit.view()["blocked"] is False
    assert kit.kiosk.light.state == "attention"


def test_a_status_light_fault_is_reported_and_the_command_still_counts(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.kiosk.light.fail_next("tower light unplugged")
    events = kit.cmd("scan", code=WATER)
    assert names(events) == ["sale_started", "item_added", "device_fault"]
    assert events[-1] == {
        "event": "device_fault",
        "device": "light",
        "message": "tower light unplugged",
    }
    assert len(kit.snapshot()["basket"]["lines"]) == 1
