"""Device events and device health on the lane, on a real kiosk.db (``lane_kit``).

Device reports reach the lane as ``lane.device_event(device, kind, detail)`` inside
``run_internal`` (what the lane runner's ``post`` does): the drawer left open is a task that
closing the drawer clears by itself, with the open and close times audited; printer reports
raise and clear the paper-low and printer-fault tasks; a scanner gone too long is a task; the
view lists the devices' health with a FAKE HARDWARE flag.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from kiosk.checkout import Lane
from kiosk.errors import DeviceError
from kiosk.lane_devices import HEALTH_EVERY_S, SCANNER_LOST_AFTER_S
from kiosk.timefmt import rfc3339
from tests.integration.lane_kit import WATER, LaneKit, error_of, make_kiosk, names, only


def open_of(kit: LaneKit, reason: str) -> list[dict[str, Any]]:
    return [i for i in kit.view()["interventions"] if i["reason"] == reason]


def with_health(kit: LaneKit, health: Any) -> Lane:
    """Give the kit's lane a device_health hook (the composition root's job), restored."""
    deps = dataclasses.replace(kit.lane.deps, device_health=health)
    kit.kiosk.lane = Lane(deps)
    kit.restored = kit.kiosk.lane.restore()
    return kit.kiosk.lane


# ------------------------------------------------------------------------------ drawer
def test_a_drawer_left_open_is_a_task_that_closing_it_clears(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    opened_at = rfc3339(kit.clock.now())
    assert names(kit.device("drawer", "opened", at=opened_at)) == ["device_status"]
    assert kit.snapshot()["drawer_opened_at"] == opened_at
    kit.clock.advance(45)
    events = kit.device("drawer", "left_open", open_for_s=45.0)
    assert names(events) == ["device_status", "intervention_opened"]
    (task,) = open_of(kit, "drawer_left_open")
    assert task["blocking"] is False
    assert task["detail"] == {"drawer": "drawer", "opened_at": opened_at, "open_for_s": 45.0}
    assert kit.kiosk.light.state == "attention"
    # Reported again (a second poll, a restart of the monitor): still one task.
    kit.device("drawer", "left_open", open_for_s=50.0)
    assert len(open_of(kit, "drawer_left_open")) == 1
    kit.clock.advance(15)
    closed_at = rfc3339(kit.clock.now())
    events = kit.device("drawer", "closed", at=closed_at, was_open_s=60.0)
    assert names(events) == ["device_status", "intervention_cleared"]
    cleared = only(events, "intervention_cleared")
    assert (cleared["reason"], cleared["staff"], cleared["resolution"]) == (
        "drawer_left_open",
        "device",
        "approve",
    )
    assert cleared["open_seconds"] == 15.0
    assert open_of(kit, "drawer_left_open") == []
    assert kit.kiosk.light.state == "ready"
    assert kit.audit("drawer_closed") == [
        {
            "drawer": "drawer",
            "opened_at": opened_at,
            "closed_at": closed_at,
            "was_open_s": 60.0,
            "left_open": True,
            "sale_id": None,
        }
    ]
    assert kit.snapshot()["drawer_opened_at"] is None


def test_a_drawer_opened_and_closed_in_time_is_only_audited(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    sale_id = kit.view()["sale_id"]
    kit.device("drawer", "opened")
    kit.clock.advance(4)
    events = kit.device("drawer", "closed")
    assert names(events) == ["device_status"]
    (row,) = kit.audit("drawer_closed")
    assert row["left_open"] is False
    assert row["sale_id"] == sale_id
    assert row["opened_at"] == "2026-03-02T03:00:00.000Z"
    assert row["closed_at"] == "2026-03-02T03:00:04.000Z"


def test_the_drawer_opening_time_survives_a_restart(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.device("drawer", "opened", at="2026-03-02T03:00:00.000Z")
    kit.restart()
    kit.device("drawer", "closed", at="2026-03-02T03:02:00.000Z")
    assert kit.audit("drawer_closed")[0]["opened_at"] == "2026-03-02T03:00:00.000Z"


def test_the_gpio_drawer_kinds_with_their_device_prefix_are_understood(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    detail = {"drawer": "till", "opened_at": "2026-03-02T02:59:00+00:00", "open_for_s": 60.0}
    events = kit.device("drawer", "drawer_left_open", **detail)
    assert only(events, "device_status")["status"] == "left_open"
    (task,) = open_of(kit, "drawer_left_open")
    assert task["detail"]["drawer"] == "till"
    assert task["detail"]["opened_at"] == "2026-03-02T02:59:00+00:00"
    kit.device("drawer", "drawer_closed", drawer="till", was_open_s=75.0)
    assert open_of(kit, "drawer_left_open") == []
    assert kit.audit("drawer_closed")[0]["was_open_s"] == 75.0


def test_the_fake_drawer_reports_its_edges_and_a_long_opening_to_the_lane(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    drawer = kit.kiosk.drawer
    drawer.on_event = lambda kind, detail: kit.lane.run_internal(
        lambda lane: lane.device_event("drawer", kind, detail)
    )
    kit.login()
    kit.cmd("open_drawer", reason="change for the float")  # the pulse opens it
    assert kit.snapshot()["drawer_opened_at"] is not None
    drawer.poll()
    assert open_of(kit, "drawer_left_open") == []
    kit.clock.advance(drawer.left_open_after_s)
    drawer.poll()
    drawer.poll()
    assert len(open_of(kit, "drawer_left_open")) == 1
    kit.clock.advance(5)
    drawer.drive_closed()
    assert open_of(kit, "drawer_left_open") == []
    (row,) = kit.audit("drawer_closed")
    assert (row["was_open_s"], row["left_open"]) == (drawer.left_open_after_s + 5, True)


# ------------------------------------------------------------------------------ printer
def test_printer_reports_raise_and_clear_the_printer_tasks(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    printer = kit.kiosk.printer
    printer.paper_near_end()
    assert only(kit.device("printer", "paper_near_end"), "intervention_opened")["reason"] == (
        "paper_low"
    )
    printer.run_out_of_paper()
    events = kit.device("printer", "paper_out")
    (fault,) = open_of(kit, "printer_fault")
    assert fault["detail"] == {
        "message": "paper_out: the printer is out of paper",
        "receipt_no": None,
        "job": None,
    }
    assert names(events) == ["device_status", "intervention_opened"]
    printer.open_cover()
    kit.device("printer", "cover_open", message="cover_open: close the cover")
    assert len(open_of(kit, "printer_fault")) == 1  # one job-less fault at a time
    # The cover is shut but the paper is still out: the fault stays.
    printer.close_cover()
    assert names(kit.device("printer", "cover_closed")) == ["device_status"]
    assert len(open_of(kit, "printer_fault")) == 1
    printer.refill()
    events = kit.device("printer", "paper_ok")
    assert [(e["reason"], e["staff"]) for e in events if e["event"] == "intervention_cleared"] == [
        ("paper_low", "device"),
        ("printer_fault", "device"),
    ]
    assert kit.view()["interventions"] == []


def test_the_fake_printer_reports_to_the_lane_when_driven(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    printer = kit.kiosk.printer
    reported: list[list[dict[str, Any]]] = []
    printer.on_event = lambda kind, detail: reported.append(
        kit.lane.run_internal(lambda lane: lane.device_event("printer", kind, detail))
    )
    printer.go_offline()
    assert [i["detail"]["message"] for i in open_of(kit, "printer_fault")] == [
        "offline: the printer does not answer"
    ]
    printer.come_back()
    assert open_of(kit, "printer_fault") == []
    assert [only(r, "device_status")["status"] for r in reported] == ["offline", "back_online"]


# ------------------------------------------------------------------------------ scanner
def test_a_scanner_unplugged_briefly_changes_only_its_status(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = kit.device("scanner", "disconnected", scanner="front", detail="EIO")
    assert events == [
        {
            "event": "device_status",
            "device": "scanner",
            "status": "disconnected",
            "detail": {"scanner": "front", "detail": "EIO"},
        }
    ]
    kit.clock.advance(SCANNER_LOST_AFTER_S - 1)
    assert kit.tick() == []
    assert names(kit.device("scanner", "connected", scanner="front")) == ["device_status"]
    kit.clock.advance(60)
    assert kit.tick() == []
    assert kit.view()["interventions"] == []


def test_a_scanner_gone_too_long_is_a_task_until_it_is_back(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.device("scanner", "disconnected", scanner="front")
    kit.clock.advance(SCANNER_LOST_AFTER_S)
    events = kit.tick()
    assert names(events) == ["intervention_opened"]
    assert events[0]["reason"] == "scanner_disconnected"
    assert events[0]["detail"] == {"scanner": "front", "since": "2026-03-02T03:00:00.000Z"}
    assert kit.tick() == []  # once per disconnection
    kit.login()
    kit.cmd("clear", intervention="scanner_disconnected", resolution="approve")
    kit.clock.advance(60)
    assert kit.tick() == []  # cleared by the attendant: not reopened while still gone
    kit.device("scanner", "disconnected", scanner="front")
    kit.device("scanner", "reconnected", scanner="front")
    kit.device("scanner", "disconnected", scanner="front")
    kit.clock.advance(SCANNER_LOST_AFTER_S)
    assert names(kit.tick()) == ["intervention_opened"]  # a new disconnection
    cleared = only(kit.device("scanner", "connected", scanner="front"), "intervention_cleared")
    assert (cleared["reason"], cleared["staff"]) == ("scanner_disconnected", "device")


def test_a_scanner_rejected_read_is_reported_only(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = kit.device("scanner", "too_long", scanner="front", detail="4097 bytes")
    assert names(events) == ["device_status"]
    assert kit.view()["interventions"] == []


def test_the_fake_scanner_reports_unplug_and_plug_in(tmp_path: Path) -> None:
    from kiosk.hw.fake import FakeScanner

    kit = make_kiosk(tmp_path)
    scanner = FakeScanner(kit.clock, name="front")
    scanner.on_event = lambda kind, detail: kit.lane.run_internal(
        lambda lane: lane.device_event("scanner", kind, detail)
    )
    scanner.unplug()
    kit.clock.advance(SCANNER_LOST_AFTER_S)
    assert names(kit.tick()) == ["intervention_opened"]
    scanner.plug_in()
    assert kit.view()["interventions"] == []


# ------------------------------------------------------------------------------ bad reports
@pytest.mark.parametrize(
    ("device", "kind", "message"),
    [
        ("toaster", "opened", "unknown device 'toaster': expected one of drawer, printer, scanner"),
        ("drawer", "exploded", "unknown drawer event 'exploded': expected one of opened, closed"),
        ("printer", "left_open", "unknown printer event 'left_open'"),
    ],
)
def test_an_unknown_device_report_is_an_error_that_changes_nothing(
    tmp_path: Path, device: str, kind: str, message: str
) -> None:
    kit = make_kiosk(tmp_path)
    before = kit.snapshot()
    events = kit.device(device, kind)
    refused = error_of(events)
    assert refused["code"] == "invalid_command"
    assert message in refused["message"]
    assert kit.snapshot() == before


def test_a_report_whose_detail_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    events = kit.lane.run_internal(lambda lane: lane.device_event("drawer", "opened", ["x"]))  # type: ignore[arg-type]
    assert error_of(events)["message"] == "drawer opened: detail must be a mapping"


# ------------------------------------------------------------------------------ health
def test_the_view_lists_device_health_and_flags_fake_hardware(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    with_health(kit, list)
    assert (kit.view()["devices"], kit.view()["fake_hardware"]) == ([], False)
    k = kit.kiosk
    with_health(kit, lambda: [k.printer.health(), k.drawer.health(), k.light.health()])
    view = kit.view()
    assert view["fake_hardware"] is True
    assert view["devices"][0] == {
        "name": "printer",
        "kind": "fake",
        "ok": True,
        "detail": "ready",
        "fake": True,
    }
    assert [d["name"] for d in view["devices"]] == ["printer", "drawer", "light"]
    real = {"name": "printer", "kind": "escpos-usb", "ok": True, "detail": "ready"}
    with_health(kit, lambda: [real])
    assert kit.view()["fake_hardware"] is False
    assert kit.view()["devices"] == [{**real, "fake": False}]


def test_device_health_is_read_on_events_and_ticks_never_per_command(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    printer = kit.kiosk.printer
    reads: list[int] = []

    def health() -> list[dict[str, Any]]:
        reads.append(1)
        return [printer.health()]

    with_health(kit, health)
    assert len(reads) == 1  # at start-up
    kit.cmd("scan", code=WATER)
    kit.view()
    assert len(reads) == 1
    printer.run_out_of_paper()
    assert kit.view()["devices"][0]["ok"] is True  # as last read
    kit.clock.advance(HEALTH_EVERY_S - 1)
    assert kit.tick() == []
    kit.clock.advance(1)
    events = kit.tick()
    assert names(events) == ["devices_changed"]
    assert events[0]["devices"][0]["detail"] == "paper_out: the printer is out of paper"
    assert kit.view()["devices"][0]["ok"] is False
    kit.clock.advance(HEALTH_EVERY_S)
    assert kit.tick() == []  # read again, unchanged: nothing to report
    printer.refill()
    kit.device("printer", "paper_ok")
    assert kit.view()["devices"][0]["ok"] is True  # read after the event
    assert len(reads) == 4


def test_a_device_health_hook_that_fails_keeps_the_list_last_read(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    printer = kit.kiosk.printer
    broken = [False]

    def health() -> list[dict[str, Any]]:
        if broken[0]:
            raise DeviceError("offline: health of printer cannot be read")
        return [printer.health()]

    with_health(kit, health)
    broken[0] = True
    kit.clock.advance(HEALTH_EVERY_S)
    assert kit.tick() == []
    assert [d["name"] for d in kit.view()["devices"]] == ["printer"]
