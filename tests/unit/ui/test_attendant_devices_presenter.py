"""The attendant's device screen (kiosk.ui.presenters.attendant_devices) without Kivy."""

from __future__ import annotations

from typing import Any

from kiosk.lane_protocol import parse_command
from kiosk.ui.presenters.attendant_devices import (
    MAX_REPORTS,
    DeviceLog,
    DeviceTestResults,
    device_rows,
    scan_text,
    scanner_test_running,
)


def t(msgid: str) -> str:
    return msgid


VIEW = {
    "devices": [
        {"name": "printer", "kind": "fake", "ok": True, "detail": "ready", "fake": True},
        {"name": "drawer", "kind": "gpio", "ok": False, "detail": "relay fault", "fake": False},
        {"name": "light", "kind": "fake", "ok": True, "detail": "off", "fake": True},
        {"name": "scanner", "kind": "fake", "ok": True, "detail": "ready", "fake": True},
        {"name": "scale", "kind": "serial", "ok": True, "detail": "", "fake": False},
    ]
}


def test_rows_show_health_and_the_lane_tests() -> None:
    rows = {row.name: row for row in device_rows(VIEW, t)}
    assert rows["printer"].title == "Receipt printer"
    assert rows["printer"].status == "OK"
    assert rows["printer"].fake
    assert rows["printer"].test_command == {"cmd": "printer_test"}
    assert rows["printer"].test_label == "Print a test page"
    assert rows["printer"].extra_command == {"cmd": "reprint"}
    assert rows["printer"].extra_label == "Reprint the last receipt"
    drawer = rows["drawer"]
    assert (drawer.title, drawer.status, drawer.detail) == ("Cash drawer", "Fault", "relay fault")
    assert drawer.test_command == {"cmd": "open_drawer", "reason": "device test"}
    assert rows["light"].test_command == {"cmd": "light_test"}
    assert rows["light"].test_label == "Test the light"
    assert rows["scanner"].test_command == {"cmd": "scanner_test"}
    assert rows["scanner"].test_label == "Test scanner"
    for name in ("printer", "light", "scanner"):
        assert rows[name].test_hint == ""  # no test run yet
    for name in ("drawer", "light", "scanner", "scale"):
        assert rows[name].extra_command is None  # only the printer has a second button
    assert rows["printer"].detail == "Ready"  # an adapter's word, in the staff language
    assert rows["light"].detail == "Off"
    assert rows["scale"].title == "scale"  # an unknown device keeps its own name
    assert rows["scale"].test_hint == ""
    for row in rows.values():
        for command in (row.test_command, row.extra_command):
            if command is not None:
                parse_command(command)


def test_no_devices_no_rows() -> None:
    assert device_rows({}, t) == ()


def test_device_log_keeps_the_newest_reports() -> None:
    log = DeviceLog()
    log.on_lane(
        [
            {"event": "drawer_opened"},
            {"event": "device_status", "device": "drawer", "status": "closed", "detail": {}},
            {"event": "device_fault", "device": "drawer", "message": "relay stuck"},
            {"event": "receipt_not_printed", "job": "j", "message": "paper_out: no paper"},
            {"event": "item_added"},
        ]
    )
    lines = log.text(t).splitlines()
    assert lines == [
        "Receipt printer: receipt not printed (paper_out: no paper)",
        "Cash drawer: fault (relay stuck)",
        "Cash drawer: closed",
        "Cash drawer: opened by the kiosk",
    ]
    log.on_lane([{"event": "device_status", "device": "scanner", "status": "beeped", "detail": {}}])
    assert log.text(t).splitlines()[0] == "Scanner: beeped"  # a kind it has no words for
    log.on_lane([{"event": "drawer_opened"}] * (MAX_REPORTS + 3))
    assert len(log.lines) == MAX_REPORTS


# ------------------------------------------------------------------ light and scanner tests
def rows_of(view: dict[str, Any], results: DeviceTestResults | None = None) -> dict[str, Any]:
    return {row.name: row for row in device_rows(view, t, results)}


def result(device: str, outcome: str, message: str = "", scan: Any = None) -> dict[str, Any]:
    return {
        "event": "device_test_result",
        "device": device,
        "staff": "E01",
        "result": outcome,
        "message": message,
        "scan": scan,
    }


def test_a_running_light_test_shows_the_state_on_the_light_and_no_button() -> None:
    running = {
        "device": "light",
        "staff": "E01",
        "started_at": "2026-03-02T03:00:00.000Z",
        "state": "intervention",
        "step": 3,
        "steps": 4,
    }
    light = rows_of({**VIEW, "device_tests": [running]})["light"]
    assert light.test_command is None
    assert light.test_hint == "Showing Intervention (3 of 4)"
    assert not scanner_test_running({**VIEW, "device_tests": [running]})


def test_a_running_scanner_test_asks_for_a_scan_and_offers_to_stop_it() -> None:
    running = {
        "device": "scanner",
        "staff": "E01",
        "started_at": "2026-03-02T03:00:00.000Z",
        "timeout_s": 15.0,
        "left_s": 15.0,
    }
    view = {**VIEW, "device_tests": [running]}
    scanner = rows_of(view)["scanner"]
    assert scanner.test_command == {"cmd": "scanner_test_cancel"}
    assert scanner.test_label == "Stop the scanner test"
    assert scanner.test_hint == ("Scan any barcode now: it is shown here, not sold (up to 15 s)")
    parse_command(scanner.test_command)
    assert scanner_test_running(view)
    assert not scanner_test_running(VIEW)


def test_light_results_ok_and_fault_show_under_the_row() -> None:
    results = DeviceTestResults()
    results.on_lane([result("light", "ok", "every state was shown; back to ready")])
    light = rows_of(VIEW, results)["light"]
    assert light.test_hint == "Light test OK: every state was shown"
    assert not light.hint_is_error
    assert light.test_command == {"cmd": "light_test"}  # it can run again
    results.on_lane([result("light", "fault", "light_fault: pin stuck; back to ready")])
    light = rows_of(VIEW, results)["light"]
    assert light.test_hint == "Light test failed: light_fault: pin stuck; back to ready"
    assert light.hint_is_error
    assert rows_of(VIEW, results)["scanner"].test_hint == ""  # only the light's result


def test_scanner_results_timeout_and_stop() -> None:
    results = DeviceTestResults()
    results.on_lane([result("scanner", "timeout", "no scan within 15 s")])
    scanner = rows_of(VIEW, results)["scanner"]
    assert (scanner.test_hint, scanner.hint_is_error) == ("No scan arrived in time", True)
    results.on_lane([result("scanner", "cancelled", "the attendant stopped the scanner test")])
    assert rows_of(VIEW, results)["scanner"].test_hint == "Test stopped"


def test_a_product_scan_is_echoed_with_its_symbology_and_code() -> None:
    scan = {
        "code": "6921168509256",
        "masked": False,
        "kind": "product",
        "symbology": "ean13",
        "identifier": None,
        "details": {"gtin": "06921168509256"},
        "ais": [],
    }
    results = DeviceTestResults()
    results.on_lane([result("scanner", "ok", "read a product code", scan)])
    scanner = rows_of(VIEW, results)["scanner"]
    assert scanner.test_hint == "Read: Product · EAN-13 · 6921168509256"
    assert not scanner.hint_is_error


def test_a_gs1_scan_lists_its_application_identifiers() -> None:
    scan = {
        "code": "]C1010950600013435210ABC<1D>17251231",
        "masked": False,
        "kind": "product",
        "symbology": "gs1",
        "identifier": "CODE_128",
        "details": {"gtin": "09506000134352", "batch": "ABC", "expiry": "2025-12-31"},
        "ais": [
            {"ai": "01", "title": "GTIN", "value": "09506000134352"},
            {"ai": "10", "title": "BATCH/LOT", "value": "ABC"},
            {"ai": "17", "title": "USE BY or EXPIRY", "value": "251231"},
        ],
    }
    lines = scan_text(scan, t).splitlines()
    assert lines == [
        "Read: Product · GS1 · ]C1010950600013435210ABC<1D>17251231",
        "(01) GTIN: 09506000134352  (10) BATCH/LOT: ABC  (17) USE BY or EXPIRY: 251231",
    ]


def test_an_unusable_scan_says_why_and_an_unknown_symbology_uses_the_identifier() -> None:
    invalid = {
        "code": "6921168509257",
        "kind": "invalid",
        "symbology": None,
        "identifier": None,
        "details": {"reason": "bad_check_digit", "message": "the check digit is wrong."},
        "ais": [],
    }
    assert scan_text(invalid, t).splitlines() == [
        "Read: Unusable code · 6921168509257",
        "the check digit is wrong.",
    ]
    results = DeviceTestResults()
    results.on_lane([result("scanner", "ok", "read a invalid code", invalid)])
    assert rows_of(VIEW, results)["scanner"].hint_is_error
    qr = {"code": "**************6789", "kind": "wallet", "identifier": "QR_CODE", "ais": []}
    assert scan_text(qr, t) == "Read: Payment code · QR CODE · **************6789"


def test_device_log_lists_test_results() -> None:
    log = DeviceLog()
    log.on_lane([result("light", "fault", "light_fault: pin stuck; back to ready")])
    assert log.text(t) == "Status light: test failed (light_fault: pin stuck; back to ready)"


def test_printer_test_results_ok_and_fault_show_under_the_printer_row() -> None:
    results = DeviceTestResults()
    results.on_lane([result("printer", "ok", "test page TEST-20260302-110000-1 printed")])
    printer = rows_of(VIEW, results)["printer"]
    assert (printer.test_hint, printer.hint_is_error) == ("Test page printed", False)
    assert printer.test_command == {"cmd": "printer_test"}  # it can run again
    results.on_lane([result("printer", "fault", "paper_out: the printer is out of paper")])
    printer = rows_of(VIEW, results)["printer"]
    assert printer.test_hint == "Test page not printed: paper_out: the printer is out of paper"
    assert printer.hint_is_error
    assert printer.extra_command == {"cmd": "reprint"}  # reprinting stays offered
    assert rows_of(VIEW, results)["light"].test_hint == ""  # only the printer's result
    log = DeviceLog()
    log.on_lane([result("printer", "fault", "cover_open: the printer cover is open")])
    assert log.text(t) == "Receipt printer: test failed (cover_open: the printer cover is open)"


def test_every_word_of_the_log_and_the_rows_is_a_translated_msgid() -> None:
    """Each word the screen shows for a device report or health is looked up in the catalog."""
    from kiosk.lane_devices import DEVICE_KINDS
    from kiosk.ui.i18n import Translations
    from kiosk.ui.presenters.attendant_devices import DETAIL_MSGIDS, REPORT_MSGIDS

    kinds = {kind for device in DEVICE_KINDS.values() for kind in device}
    assert kinds <= set(REPORT_MSGIDS)  # every kind the lane accepts has its words
    translations = Translations(["zh_CN"])
    for msgid in (*REPORT_MSGIDS.values(), *DETAIL_MSGIDS.values()):
        assert translations.gettext(msgid, "zh_CN") != msgid, msgid
