"""The GPIO drawer's pulse runs off the lane thread: a cash sale answers at once, and the
drawer's own thread reports ``opened`` / ``not_opened`` / ``closed`` through the lane runner's
``post``; the view's drawer entry shows its ``state`` for the attendant screen.

The drawer runs on gpiozero's MockFactory (``pin_factory = "mock"``) with the kiosk's
``FakeClock``: the drawer's confirmation window only passes when the test moves the clock, so
the lane is seen answering while a pulse is still unconfirmed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from kiosk.app import build_headless
from kiosk.config import Config
from kiosk.hw.drawer import GpioDrawer
from kiosk.hw.fake import FakeClock
from tests.integration.lane_kit import START, WATER, make_kiosk
from tests.integration.test_devices_wiring import WAIT_S, devices_config, running

GPIO_DRAWER = (
    '[devices]\ndrawer = "gpio"\npin_factory = "mock"\n[devices.gpio_drawer]\n'
    'relay_pin = 17\nswitch_pin = 27\nswitch_open_when = "low"\ndebounce_ms = 0\n'
)


@pytest.fixture
def base(tmp_path: Path) -> Config:
    """The demo kiosk's config on a ready kiosk.db in tmp_path."""
    kit = make_kiosk(tmp_path)
    kit.close()
    return kit.config


def drawer_entry(view: Mapping[str, Any]) -> Mapping[str, Any]:
    entries: list[Mapping[str, Any]] = [d for d in view["devices"] if d["name"] == "drawer"]
    (entry,) = entries
    return entry


def until(check: Callable[[], bool], step: Callable[[], None] = lambda: None) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        step()
        time.sleep(0.01)


def test_a_cash_sale_answers_before_the_drawer_confirms_and_the_state_follows(
    base: Config,
) -> None:
    clock = FakeClock(START)
    kiosk = build_headless(devices_config(base, GPIO_DRAWER), clock=clock)
    drawer = kiosk.drawer
    assert isinstance(drawer, GpioDrawer)
    switch = kiosk.devices.opener.pin_factory("drawer").pin(27)
    with running(kiosk) as (runner, batches):
        runner.call({"cmd": "scan", "code": WATER}, WAIT_S)
        runner.call({"cmd": "staff_login", "badge": "ST0001"}, WAIT_S)
        events = runner.call({"cmd": "cash", "tendered": 500}, WAIT_S)
        assert [e["event"] for e in events][-2:] == ["receipt_printed", "drawer_opened"]
        # The worker waits for the switch (the fake clock stands still): the lane answers.
        assert drawer.is_open() is None
        assert runner.call({"cmd": "view"}, WAIT_S) == []
        switch.drive_low()  # the drawer springs open
        batches.wait_for(lambda e: e["event"] == "device_status" and e["status"] == "opened")
        until(lambda: drawer_entry(batches.last_view())["state"] == "open")
        clock.advance(3)
        switch.drive_high()  # pushed shut
        batches.wait_for(lambda e: e["event"] == "device_status" and e["status"] == "closed")
        until(lambda: drawer_entry(batches.last_view())["state"] == "closed")
        assert not [e for e in batches.events if e["event"] == "device_fault"]


def test_a_drawer_that_stays_shut_is_reported_by_its_thread_as_a_drawer_fault(
    base: Config,
) -> None:
    clock = FakeClock(START)
    kiosk = build_headless(devices_config(base, GPIO_DRAWER), clock=clock)
    with running(kiosk) as (runner, batches):
        runner.call({"cmd": "staff_login", "badge": "ST0001"}, WAIT_S)
        events = runner.call({"cmd": "open_drawer", "reason": "float check"}, WAIT_S)
        assert [e["event"] for e in events] == ["drawer_opened"]  # the pulse is queued
        # Nothing opens the switch: let the confirmation windows pass (pulse, retry).
        until(
            lambda: any(e["event"] == "device_fault" for e in batches.events),
            lambda: clock.advance(0.5),
        )
        fault = batches.wait_for(lambda e: e["event"] == "device_fault")
        assert str(fault["message"]).startswith("drawer_did_not_open: relay on BCM 17 pulsed 2")
        opened = batches.wait_for(lambda e: e["event"] == "intervention_opened")
        assert opened["reason"] == "drawer_fault"
        until(lambda: drawer_entry(batches.last_view())["state"] == "not_opened")
        assert drawer_entry(batches.last_view())["ok"] is False
