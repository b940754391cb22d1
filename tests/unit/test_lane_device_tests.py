"""kiosk.lane_device_tests: the attendant's light, scanner and printer tests on the lane.

The lane runs on the demo kiosk (``tests.integration.lane_kit``: kiosk.db in tmp_path, fake
devices) with its ``FakeClock``: the light test's steps and the scanner test's timeout move
only when the test advances the clock and ticks. The fake light records every state shown;
scans come as ``scan`` commands, as every scanner's reads do; the fake printer keeps every page
it printed (``jobs``) and refuses while out of paper, offline or with its cover open.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from kiosk.barcodes import classify
from kiosk.config import Config
from kiosk.errors import DeviceError
from kiosk.hw.fake import FakeLight, FakePrinter
from kiosk.interventions import open_of
from kiosk.lane_device_tests import (
    LIGHT_TEST_HOLD_S,
    LIGHT_TEST_STATES,
    PRINTER_TEST_S,
    SCANNER_TEST_TIMEOUT_S,
)
from kiosk.scan_echo import describe_scan
from kiosk.test_page import NOT_A_RECEIPT, TEST_PAGE_MARK, TEST_PAGE_SAMPLES, printer_test_page
from tests.integration.lane_kit import (
    BEER,
    TODAY,
    UNKNOWN_GTIN,
    WALLET_CODE,
    WATER,
    LaneKit,
    error_of,
    make_kiosk,
    names,
    only,
)

GS1_CODE = "]C1010950600013435210ABC\x1d17261231"  # GTIN, batch ABC, expiry 2026-12-31
BADGE = "ST0001"  # demo attendant E01


@pytest.fixture
def kit(tmp_path: Path) -> LaneKit:
    return make_kiosk(tmp_path)


def tick(kit: LaneKit, seconds: float) -> list[dict[str, Any]]:
    """Let ``seconds`` pass and run the lane's tick; its events but the device list's."""
    kit.clock.advance(seconds)
    return [e for e in kit.tick() if e["event"] != "devices_changed"]


def shown(kit: LaneKit) -> list[str]:
    """Every state the fake light was asked to show, oldest first."""
    return [e.detail for e in kit.kiosk.light.history if e.what == "show"]


def running_tests(kit: LaneKit) -> list[str]:
    return [str(t["device"]) for t in kit.view()["device_tests"]]


# ------------------------------------------------------------------------------ the light
def test_the_light_test_shows_every_state_then_what_the_lane_wants(kit: LaneKit) -> None:
    kit.login()
    before = len(shown(kit))
    events = kit.cmd("light_test")
    assert names(events) == ["device_test_started", "light_test_step"]
    started = only(events, "device_test_started")
    assert started == {
        "event": "device_test_started",
        "device": "light",
        "staff": "E01",
        "seconds": LIGHT_TEST_HOLD_S * len(LIGHT_TEST_STATES),
    }
    assert only(events, "light_test_step") == {
        "event": "light_test_step",
        "state": "ready",
        "step": 1,
        "steps": 4,
    }
    (running,) = kit.view()["device_tests"]
    assert (running["device"], running["state"], running["step"]) == ("light", "ready", 1)
    assert tick(kit, LIGHT_TEST_HOLD_S / 2) == []  # not yet: each state is held
    steps = []
    for _ in LIGHT_TEST_STATES[1:]:
        steps += tick(kit, LIGHT_TEST_HOLD_S)
    assert [e["state"] for e in steps] == list(LIGHT_TEST_STATES[1:])
    assert tick(kit, LIGHT_TEST_HOLD_S / 2) == []
    events = tick(kit, LIGHT_TEST_HOLD_S / 2)
    result = only(events, "device_test_result")
    assert (result["device"], result["result"], result["scan"]) == ("light", "ok", None)
    assert result["message"] == "every state was shown; back to ready"
    assert shown(kit)[before:] == [*LIGHT_TEST_STATES, "ready"]
    assert kit.kiosk.light.state == "ready"
    assert running_tests(kit) == []
    # the device list follows on the next tick, not HEALTH_EVERY_S later
    changed = only(kit.tick(), "devices_changed")["devices"]
    assert [d["detail"] for d in changed if d["name"] == "light"] == ["ready"]
    assert [d["detail"] for d in kit.view()["devices"] if d["name"] == "light"] == ["ready"]


def test_the_light_test_ends_on_the_state_the_lane_wants_now(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("light_test")
    kit.cmd("scan", code=UNKNOWN_GTIN)  # a blocking task opens during the test
    assert kit.kiosk.light.state == "ready"  # the test still has the light
    for _ in LIGHT_TEST_STATES:
        events = tick(kit, LIGHT_TEST_HOLD_S)
    assert only(events, "device_test_result")["message"].endswith("back to intervention")
    assert kit.kiosk.light.state == "intervention"


def test_a_light_fault_ends_the_test_with_the_reason(kit: LaneKit) -> None:
    kit.login()
    kit.kiosk.light.fail_next("light_fault: light light: GPIO 22 busy")
    events = kit.cmd("light_test")
    assert names(events) == ["device_test_started", "device_test_result"]
    result = only(events, "device_test_result")
    assert result["result"] == "fault"
    assert result["message"] == "light_fault: light light: GPIO 22 busy; back to ready"
    assert kit.kiosk.light.state == "ready"  # shown again at once
    assert running_tests(kit) == []
    (row,) = kit.audit("device_test_result")
    assert (row["device"], row["result"], row["staff"]) == ("light", "fault", "E01")


def test_a_light_fault_in_the_middle_of_the_cycle(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("light_test")
    tick(kit, LIGHT_TEST_HOLD_S)  # attention
    kit.kiosk.light.fail_next("light_fault: red lamp open circuit")
    events = tick(kit, LIGHT_TEST_HOLD_S)  # intervention fails
    assert names(events) == ["device_test_result"]
    assert events[0]["result"] == "fault"
    assert kit.kiosk.light.state == "ready"


def test_a_broken_light_fails_every_show_until_repaired(kit: LaneKit) -> None:
    kit.login()
    light = kit.kiosk.light
    assert isinstance(light, FakeLight)
    light.break_down("light_fault: the tower is unplugged")
    with pytest.raises(DeviceError, match="unplugged"):
        light.show("ready")
    with pytest.raises(DeviceError, match="unplugged"):
        light.show("attention")
    assert light.health()["ok"] is False
    result = only(kit.cmd("light_test"), "device_test_result")
    assert (result["result"], result["message"]) == (
        "fault",
        "light_fault: the tower is unplugged; back to ready",
    )
    light.repair()
    light.show("attention")
    assert (light.state, light.health()["ok"]) == ("attention", True)
    with pytest.raises(ValueError, match="must not be empty"):
        light.break_down(" ")


def test_the_light_test_needs_an_attendant_and_runs_once_at_a_time(kit: LaneKit) -> None:
    assert error_of(kit.cmd("light_test"))["code"] == "not_allowed"
    assert kit.audit("device_test") == []
    kit.login()
    kit.cmd("light_test")
    refused = error_of(kit.cmd("light_test"))
    assert refused["code"] == "wrong_state"
    assert "running already" in refused["message"]
    assert len(kit.audit("device_test")) == 1


def test_the_light_test_is_audited_before_and_after(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("scan", code=WATER)
    sale_id = kit.view()["sale_id"]
    kit.cmd("light_test")
    assert kit.audit("device_test") == [{"device": "light", "staff": "E01", "sale_id": sale_id}]
    assert kit.audit("device_test_result") == []
    for _ in LIGHT_TEST_STATES:
        tick(kit, LIGHT_TEST_HOLD_S)
    (row,) = kit.audit("device_test_result")
    assert row["result"] == "ok" and row["device"] == "light" and row["staff"] == "E01"
    assert row["started_at"] < row["ended_at"]


# ------------------------------------------------------------------------------ the scanner
def test_a_scan_during_the_scanner_test_is_echoed_not_sold(kit: LaneKit) -> None:
    kit.login()
    events = kit.cmd("scanner_test")
    assert only(events, "device_test_started")["seconds"] == SCANNER_TEST_TIMEOUT_S
    (running,) = kit.view()["device_tests"]
    assert (running["device"], running["timeout_s"]) == ("scanner", SCANNER_TEST_TIMEOUT_S)
    events = kit.cmd("scan", code=WATER)
    assert names(events) == ["device_test_result"]
    result = events[0]
    assert (result["device"], result["result"]) == ("scanner", "ok")
    assert result["scan"] == {
        "code": WATER,
        "masked": False,
        "kind": "product",
        "symbology": "ean13",
        "identifier": None,
        "details": {"gtin": "0" + WATER},
        "ais": [],
    }
    view = kit.view()
    assert (view["mode"], view["sale_id"], view["lines"]) == ("idle", None, [])
    assert running_tests(kit) == []
    # then scanning works as before
    assert names(kit.cmd("scan", code=WATER)) == ["sale_started", "item_added"]


def test_the_scanner_test_leaves_a_basket_in_progress_alone(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    kit.login()
    kit.cmd("scanner_test")
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=BEER)  # the test took the first scan only
    lines = kit.view()["lines"]
    assert [(line["sku"], line["qty"]) for line in lines] == [("100001", "1"), ("100002", "1")]
    assert kit.snapshot()["basket"] == kit.lane.state.basket.to_dict()


def test_a_gs1_scan_is_echoed_with_its_application_identifiers(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("scanner_test")
    scan = only(kit.cmd("scan", code=GS1_CODE), "device_test_result")["scan"]
    assert (scan["kind"], scan["symbology"], scan["identifier"]) == ("product", "gs1", "CODE_128")
    assert scan["code"] == "]C1010950600013435210ABC<1D>17261231"
    assert scan["details"] == {"gtin": "09506000134352", "batch": "ABC", "expiry": "2026-12-31"}
    assert [(ai["ai"], ai["value"]) for ai in scan["ais"]] == [
        ("01", "09506000134352"),
        ("10", "ABC"),
        ("17", "261231"),
    ]
    assert kit.view()["interventions"] == []  # an unknown GTIN opened no task


def test_a_badge_or_payment_code_is_masked_and_does_nothing(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("scanner_test")
    badge = only(kit.cmd("scan", code=BADGE), "device_test_result")["scan"]
    assert (badge["kind"], badge["code"], badge["masked"]) == ("staff_badge", "**0001", True)
    assert kit.view()["attendant"] is not None  # the badge did not log E01 out
    kit.cmd("scanner_test")
    events = kit.cmd("scan", code=WALLET_CODE)
    wallet = only(events, "device_test_result")["scan"]
    assert wallet["kind"] == "wallet"
    assert wallet["code"] == "*" * 14 + WALLET_CODE[-4:]
    assert WALLET_CODE not in str(events)
    assert WALLET_CODE not in str(kit.view())
    for row in kit.audit("device_test_result"):  # what was read, never the code
        assert set(row) == {
            "device",
            "staff",
            "result",
            "message",
            "started_at",
            "ended_at",
            "kind",
            "symbology",
        }
    assert kit.committed()["payment_intents"] == 0


def test_an_unreadable_scan_is_echoed_with_the_reason(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("scanner_test")
    bad = WATER[:-1] + "7"
    scan = only(kit.cmd("scan", code=bad), "device_test_result")["scan"]
    assert scan["kind"] == "invalid"
    assert scan["details"]["reason"] == "bad_check_digit"
    assert "check digit" in scan["details"]["message"]


def test_no_scan_in_time_is_a_timeout_then_scans_sell_again(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("scanner_test")
    assert tick(kit, SCANNER_TEST_TIMEOUT_S - 1) == []
    assert kit.view()["device_tests"][0]["left_s"] == 1.0
    events = tick(kit, 1)
    result = only(events, "device_test_result")
    assert (result["result"], result["scan"]) == ("timeout", None)
    assert result["message"] == "no scan within 15 s"
    assert names(kit.cmd("scan", code=WATER)) == ["sale_started", "item_added"]
    (row,) = kit.audit("device_test_result")
    assert (row["device"], row["result"]) == ("scanner", "timeout")


def test_a_scan_after_the_time_is_up_is_sold_even_before_the_tick(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("scanner_test")
    kit.clock.advance(SCANNER_TEST_TIMEOUT_S)
    events = kit.cmd("scan", code=WATER)
    assert names(events) == ["device_test_result", "sale_started", "item_added"]
    assert events[0]["result"] == "timeout"


def test_the_scanner_test_needs_an_attendant(kit: LaneKit) -> None:
    for command in ("scanner_test", "scanner_test_cancel"):
        assert error_of(kit.cmd(command))["code"] == "not_allowed"
    assert kit.audit("device_test") == []
    assert names(kit.cmd("scan", code=WATER)) == ["sale_started", "item_added"]


def test_the_scanner_test_runs_once_and_can_be_cancelled(kit: LaneKit) -> None:
    kit.login()
    assert error_of(kit.cmd("scanner_test_cancel"))["code"] == "wrong_state"
    kit.cmd("scanner_test")
    assert error_of(kit.cmd("scanner_test"))["code"] == "wrong_state"
    result = only(kit.cmd("scanner_test_cancel"), "device_test_result")
    assert (result["result"], result["device"]) == ("cancelled", "scanner")
    assert names(kit.cmd("scan", code=WATER)) == ["sale_started", "item_added"]
    assert [row["result"] for row in kit.audit("device_test_result")] == ["cancelled"]
    assert [row["device"] for row in kit.audit("device_test")] == ["scanner"]


def test_logging_out_ends_the_scanner_test(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("scanner_test")
    kit.logout()
    events = kit.cmd("scan", code=WATER)  # a customer's scan is sold
    assert names(events) == ["device_test_result", "sale_started", "item_added"]
    assert (events[0]["result"], events[0]["message"]) == ("cancelled", "E01 logged out")
    kit.login()
    kit.cmd("scanner_test")
    kit.logout()
    assert only(tick(kit, 0.5), "device_test_result")["result"] == "cancelled"


def test_another_attendant_does_not_inherit_the_scanner_test(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("scanner_test")
    events = kit.cmd("staff_login", badge="ST0002")  # E02 takes over: E01 is logged out
    assert names(events) == ["staff_logged_out", "staff_logged_in"]
    assert only(tick(kit, 0.5), "device_test_result")["message"] == "E01 logged out"


def test_both_tests_can_run_together_and_in_any_mode(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("out_of_service", on=True, reason="maintenance")
    kit.cmd("light_test")
    kit.cmd("scanner_test")
    assert sorted(running_tests(kit)) == ["light", "scanner"]
    assert only(kit.cmd("scan", code=WATER), "device_test_result")["device"] == "scanner"
    assert running_tests(kit) == ["light"]
    for _ in LIGHT_TEST_STATES:
        tick(kit, LIGHT_TEST_HOLD_S)
    assert kit.kiosk.light.state == "out_of_service"


def test_a_restart_ends_every_test(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("light_test")
    kit.cmd("scanner_test")
    kit.restart()
    assert kit.view()["device_tests"] == []
    assert "device_tests" not in kit.snapshot()
    assert names(kit.cmd("scan", code=WATER)) == ["sale_started", "item_added"]


def test_the_test_commands_take_no_arguments(kit: LaneKit) -> None:
    kit.login()
    for command in ("light_test", "scanner_test", "scanner_test_cancel", "printer_test"):
        refused = error_of(kit.cmd(command, seconds=5))
        assert refused["code"] == "invalid_command"
        assert refused["message"] == f"{command} has no argument 'seconds'"


# ------------------------------------------------------------------------------ the printer
def printer_of(kit: LaneKit) -> FakePrinter:
    printer = kit.kiosk.printer
    assert isinstance(printer, FakePrinter)
    return printer


def open_reasons(kit: LaneKit) -> list[str]:
    """The reasons of the open interventions (the view lists only those)."""
    return [str(i["reason"]) for i in kit.view()["interventions"]]


def test_the_printer_test_prints_a_test_page(kit: LaneKit) -> None:
    kit.login()
    printer = printer_of(kit)
    events = kit.cmd("printer_test")
    assert names(events) == ["device_test_started", "device_test_result"]
    assert only(events, "device_test_started") == {
        "event": "device_test_started",
        "device": "printer",
        "staff": "E01",
        "seconds": PRINTER_TEST_S,
    }
    (page,) = printer.jobs
    result = only(events, "device_test_result")
    assert (result["device"], result["staff"], result["result"], result["scan"]) == (
        "printer",
        "E01",
        "ok",
        None,
    )
    assert result["message"] == f"test page {page.job_id} printed"
    assert page.job_id.startswith("TEST-") and page.job_id.endswith("-1")
    assert page.barcode == page.job_id  # the page's barcode is its job id, as hw test's
    text = page.text
    ruler = "".join(str(i % 10) for i in range(1, kit.config.receipt.width + 1))
    for expected in (TEST_PAGE_MARK, ruler, *TEST_PAGE_SAMPLES, "E01", NOT_A_RECEIPT):
        assert expected in text
    assert kit.print_jobs() == []  # no receipt job: never retried, reprinted or recovered
    assert kit.view()["device_tests"] == []  # it ended within the command
    # the next page gets its own job id, even within the same second
    kit.cmd("printer_test")
    assert [job.job_id.rsplit("-", 1)[1] for job in printer.jobs] == ["1", "2"]
    assert len({job.job_id for job in printer.jobs}) == 2


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (FakePrinter.run_out_of_paper, "paper_out: the printer is out of paper"),
        (FakePrinter.open_cover, "cover_open: the printer cover is open"),
        (FakePrinter.go_offline, "offline: the printer does not answer"),
    ],
)
def test_a_printer_fault_ends_the_printer_test_with_the_reason(
    kit: LaneKit, break_it: Any, reason: str
) -> None:
    kit.login()
    printer = printer_of(kit)
    break_it(printer)
    events = kit.cmd("printer_test")
    assert names(events) == ["device_test_started", "device_test_result"]
    result = only(events, "device_test_result")
    assert (result["device"], result["result"], result["message"]) == ("printer", "fault", reason)
    assert printer.jobs == [] and printer.output == b""  # not a byte was sent
    (row,) = kit.audit("device_test_result")
    assert (row["device"], row["result"], row["message"]) == ("printer", "fault", reason)
    assert "printer_fault" not in open_reasons(kit)  # the test page has no task of its own


def test_paper_out_then_refilled_the_printer_test_prints(kit: LaneKit) -> None:
    kit.login()
    printer = printer_of(kit)
    printer.run_out_of_paper()
    assert only(kit.cmd("printer_test"), "device_test_result")["result"] == "fault"
    printer.refill()
    assert only(kit.cmd("printer_test"), "device_test_result")["result"] == "ok"
    assert len(printer.jobs) == 1


def test_paper_running_out_during_the_page_is_a_fault(kit: LaneKit) -> None:
    kit.login()
    printer = printer_of(kit)
    printer.run_out_of_paper_mid_job()
    result = only(kit.cmd("printer_test"), "device_test_result")
    assert result["result"] == "fault"
    assert result["message"].startswith("paper_out: the paper ran out during job TEST-")
    assert printer.jobs == [] and len(printer.torn) == 1


def test_the_printer_test_goes_through_the_print_path_paper_and_faults(kit: LaneKit) -> None:
    kit.login()
    printer = printer_of(kit)
    printer.paper_near_end()  # the status asked first notes the paper, as for a receipt
    assert only(kit.cmd("printer_test"), "device_test_result")["result"] == "ok"
    assert open_reasons(kit).count("paper_low") == 1
    # a printer fault reported while no job ran is closed by a page that printed
    kit.device("printer", "offline")
    assert "printer_fault" in open_reasons(kit)
    assert only(kit.cmd("printer_test"), "device_test_result")["result"] == "ok"
    assert "printer_fault" not in open_reasons(kit)
    assert open_of(kit.lane.state.interventions, "paper_low")  # still low: stays


def test_the_printer_test_needs_an_attendant(kit: LaneKit) -> None:
    refused = error_of(kit.cmd("printer_test"))
    assert refused["code"] == "not_allowed"
    assert printer_of(kit).jobs == []
    assert kit.audit("device_test") == [] and kit.audit("device_test_result") == []
    kit.login()
    kit.logout()
    assert error_of(kit.cmd("printer_test"))["code"] == "not_allowed"
    assert printer_of(kit).jobs == []


def test_the_printer_test_is_audited_before_and_after(kit: LaneKit) -> None:
    kit.login()
    kit.cmd("scan", code=WATER)
    sale_id = kit.view()["sale_id"]
    kit.clock.advance(1.0)
    kit.cmd("printer_test")
    assert kit.audit("device_test") == [{"device": "printer", "staff": "E01", "sale_id": sale_id}]
    (row,) = kit.audit("device_test_result")
    (page,) = printer_of(kit).jobs
    assert row == {
        "device": "printer",
        "staff": "E01",
        "result": "ok",
        "message": f"test page {page.job_id} printed",
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "job": page.job_id,
    }
    assert row["started_at"] <= row["ended_at"]
    assert [line["sku"] for line in kit.view()["lines"]] != []  # the sale is left as it was


def test_printer_test_page_is_a_receipt_document_without_amounts(kit: LaneKit) -> None:
    config: Config = kit.config
    test_page = partial(
        printer_test_page,
        store=config.store,
        kiosk_id="k9",
        width=32,
        local_time="2026-03-02 11:00",
        business_day="2026-03-02",
        language="en",
        staff="E07",
    )
    page = test_page("TEST-20260302-110000-1")
    assert page.header == (
        TEST_PAGE_MARK,
        "12345678901234567890123456789012",
        *TEST_PAGE_SAMPLES,
        "Staff E07",
    )
    assert (page.receipt_no, page.barcode, page.kiosk_id) == ("TEST-20260302-110000-1",) * 2 + (
        "k9",
    )
    assert page.totals.due == 0 and page.lines == () and page.tenders == ()
    assert page.footer == (NOT_A_RECEIPT,)
    with pytest.raises(ValueError, match="a test page needs a job id"):
        test_page(" ")


# ------------------------------------------------------------------------------ the echo
def test_describe_scan_cuts_a_long_code_and_shows_control_characters(kit: LaneKit) -> None:
    config: Config = kit.config
    today = date.fromisoformat(TODAY)
    long_code = "X" * 200
    scan = describe_scan(long_code, classify(long_code, config.barcodes, today))
    assert len(scan["code"]) == 80 and scan["code"].endswith("…")
    terminated = describe_scan(WATER + "\r\n", classify(WATER + "\r\n", config.barcodes, today))
    assert terminated["code"] == WATER
    receipt = describe_scan("Rs0001-k01-7", classify("Rs0001-k01-7", config.barcodes, today))
    assert (receipt["kind"], receipt["details"]) == ("receipt", {"receipt_no": "s0001-k01-7"})
