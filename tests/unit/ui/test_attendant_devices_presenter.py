"""The attendant's device screen (kiosk.ui.presenters.attendant_devices) without Kivy."""

from __future__ import annotations

from kiosk.lane_protocol import parse_command
from kiosk.ui.presenters.attendant_devices import MAX_REPORTS, DeviceLog, device_rows


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
    assert rows["printer"].test_command == {"cmd": "reprint"}
    assert "kiosk hw test printer" in rows["printer"].test_hint
    drawer = rows["drawer"]
    assert (drawer.title, drawer.status, drawer.detail) == ("Cash drawer", "Fault", "relay fault")
    assert drawer.test_command == {"cmd": "open_drawer", "reason": "device test"}
    for name in ("light", "scanner"):
        assert rows[name].test_command is None
        assert f"kiosk hw test {name}" in rows[name].test_hint
    assert rows["scale"].title == "scale"  # an unknown device keeps its own name
    assert rows["scale"].test_hint == ""
    for row in rows.values():
        if row.test_command is not None:
            parse_command(row.test_command)


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
        "Receipt printer: not printed (paper_out: no paper)",
        "Cash drawer: fault (relay stuck)",
        "Cash drawer: closed",
        "Cash drawer: pulsed",
    ]
    log.on_lane([{"event": "drawer_opened"}] * (MAX_REPORTS + 3))
    assert len(log.lines) == MAX_REPORTS
