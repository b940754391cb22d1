"""kiosk.app.build_devices and build_headless: real and fake devices from ``[devices]``, wired to
the lane on its runner thread, with no fallback.

Real adapters without hardware: GPIO on gpiozero's MockFactory (``pin_factory = "mock"``), the
ESC/POS printer over the Network transport to a local socket "printer" and over the File
transport to a tmp file, a serial scanner on a pseudo-terminal pair delivering a scan through the
runner into the lane. ``lgpio`` is not installed here: configuring it must stop start-up with the
clear error, never give a fake.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kiosk.app import HeadlessKiosk, build_devices, build_headless
from kiosk.config import Config, parse_config
from kiosk.errors import ConfigError, DeviceError
from kiosk.hw.drawer import GpioDrawer
from kiosk.hw.escpos_printer import EscposPrinter, EscposSettings
from kiosk.hw.fake import FakeClock, FakeDrawer, FakeLight, FakePrinter, FakeScanner
from kiosk.hw.light import GpioStatusLight
from kiosk.hw.printer_drawer import PrinterDrawer, PrinterDrawerSettings
from kiosk.hw.serial_scanner import SerialScanner
from kiosk.lane_runner import LaneRunner
from tests.integration.lane_kit import START, WATER, make_kiosk
from tests.integration.test_hw_escpos_printer import LocalPrinter
from tests.integration.test_hw_serial_scanner import Pty, wait_until

Event = dict[str, Any]
WAIT_S = 5.0


def devices_config(base: Config, toml: str) -> Config:
    """``base`` with its ``[devices]`` replaced by the one in ``toml``."""
    return dataclasses.replace(base, devices=parse_config(toml).devices)


@pytest.fixture
def base(tmp_path: Path) -> Config:
    """The demo kiosk's config on a ready kiosk.db in tmp_path (fake devices)."""
    kit = make_kiosk(tmp_path)
    kit.close()
    return kit.config


class Batches:
    """What the lane runner published, for a test thread to wait on."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.views: list[Mapping[str, Any]] = []
        self._cond = threading.Condition()

    def __call__(self, events: list[Event], view: Mapping[str, Any]) -> None:
        with self._cond:
            self.events.extend(events)
            self.views.append(view)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[Event], bool]) -> Event:
        with self._cond:
            found: list[Event] = []

            def seen() -> bool:
                found[:] = [e for e in self.events if predicate(e)]
                return bool(found)

            assert self._cond.wait_for(seen, WAIT_S), f"not seen in {WAIT_S} s: {self.events}"
            return found[0]

    def last_view(self) -> Mapping[str, Any]:
        with self._cond:
            return self.views[-1]


@contextmanager
def running(kiosk: HeadlessKiosk) -> Iterator[tuple[LaneRunner, Batches]]:
    """The kiosk's lane on a runner (fast ticks), its devices connected and started."""
    runner = LaneRunner(kiosk.lane, tick_s=0.02)
    batches = Batches()
    runner.add_listener(batches)
    kiosk.devices.connect(runner)
    try:
        runner.start().result(WAIT_S)
        kiosk.devices.start()
        yield runner, batches
    finally:
        kiosk.devices.stop()
        runner.stop()
        kiosk.close()


def scanner_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("scanner-")]


# ------------------------------------------------------------------------------ fakes
def test_build_devices_with_fakes_gives_the_fakes_and_their_health(base: Config) -> None:
    devices = build_devices(base, FakeClock(START))
    try:
        assert isinstance(devices.printer, FakePrinter)
        assert isinstance(devices.drawer, FakeDrawer)
        assert isinstance(devices.light, FakeLight)
        assert [type(s) for s in devices.scanners] == [FakeScanner]
        assert devices.fakes.printer is devices.printer
        assert devices.fakes.scanner is devices.scanners[0]
        assert devices.pollers == (devices.drawer.poll,)
        health = devices.health()
        assert [(h["device"], h["kind"], h["ok"]) for h in health] == [
            ("printer", "fake", True),
            ("drawer", "fake", True),
            ("light", "fake", True),
            ("scanner", "fake", True),
        ]
        assert all(h["fake"] for h in health)
    finally:
        devices.close()
    devices.close()  # idempotent


def test_force_fakes_replaces_real_devices_but_still_checks_their_settings(base: Config) -> None:
    config = devices_config(
        base,
        '[devices]\ndrawer = "gpio"\npin_factory = "lgpio"\nscanner = "serial"\n'
        "[devices.gpio_drawer]\nrelay_pin = 17\n"
        '[devices.serial_scanner]\ndevice = "/dev/serial/by-id/none"\n',
    )
    devices = build_devices(config, FakeClock(START), force_fakes=True)
    try:
        assert isinstance(devices.drawer, FakeDrawer)
        assert isinstance(devices.scanners[0], FakeScanner)
    finally:
        devices.close()
    bad = devices_config(base, "[devices]\n[devices.gpio_drawer]\nrelay_pin = 99\n")
    with pytest.raises(ConfigError) as caught:
        build_devices(bad, FakeClock(START), force_fakes=True)
    assert caught.value.key == "devices.gpio_drawer.relay_pin"


# ------------------------------------------------------------------------------ GPIO on mock pins
GPIO = """
[devices]
drawer = "gpio"
light = "gpio"
pin_factory = "mock"
[devices.gpio_drawer]
relay_pin = 17
pulse_ms = 20
min_off_ms = 0
[devices.gpio_light]
green_pin = 24
amber_pin = 25
red_pin = 16
"""


def test_build_devices_drives_gpio_drawer_and_light_on_mock_pins(base: Config) -> None:
    threads_before = set(threading.enumerate())
    devices = build_devices(devices_config(base, GPIO), FakeClock(START))
    try:
        assert isinstance(devices.drawer, GpioDrawer)
        assert isinstance(devices.light, GpioStatusLight)
        assert devices.pollers[:2] == (devices.drawer.poll, devices.light.tick)
        pins = devices.opener.pin_factory("drawer")
        devices.drawer.open()
        relay = [state for _, state in pins.pin(17).states]
        assert relay[-2:] == [True, False]  # one pulse, released
        devices.light.show("out_of_service")
        assert (pins.pin(16).state, pins.pin(24).state) == (True, False)
        health = {h["device"]: h for h in devices.health()}
        assert health["drawer"]["ok"] and "simulated pins (pin_factory = mock)" in str(
            health["drawer"]["detail"]
        )
        assert health["light"]["detail"].startswith("out_of_service")
        devices.light.show("attention")  # blinking: gpiozero runs a blink thread
        assert set(threading.enumerate()) - threads_before
    finally:
        devices.close()
    assert devices.drawer.health()["detail"] == "closed down"
    assert set(threading.enumerate()) - threads_before == set()  # nothing left running


def test_gpio_drawer_left_open_reaches_the_lane_through_the_runner(base: Config) -> None:
    clock = FakeClock(START)
    config = devices_config(
        base,
        '[devices]\ndrawer = "gpio"\npin_factory = "mock"\n[devices.gpio_drawer]\n'
        'relay_pin = 17\nswitch_pin = 27\nswitch_open_when = "low"\ndebounce_ms = 0\n'
        "left_open_after_s = 5\n",
    )
    kiosk = build_headless(config, clock=clock)
    switch = kiosk.devices.opener.pin_factory("drawer").pin(27)
    drawer = kiosk.drawer
    assert isinstance(drawer, GpioDrawer)
    with running(kiosk) as (_runner, batches):
        assert drawer.is_open() is False
        switch.drive_low()  # someone pulls the drawer open
        assert drawer.is_open() is True
        clock.advance(6)
        opened = batches.wait_for(
            lambda e: e["event"] == "intervention_opened" and e["reason"] == "drawer_left_open"
        )
        assert opened["detail"]["drawer"] == "drawer"
        switch.drive_high()
        batches.wait_for(lambda e: e["event"] == "device_status" and e["status"] == "closed")
        batches.wait_for(
            lambda e: e["event"] == "intervention_cleared" and e["reason"] == "drawer_left_open"
        )


def test_lgpio_configured_stops_start_up_with_what_to_install_and_no_fallback(
    base: Config,
) -> None:
    config = devices_config(
        base,
        GPIO.replace('pin_factory = "mock"', 'pin_factory = "lgpio"'),
    )
    db = Path(config.paths.db)
    db.unlink()
    with pytest.raises(DeviceError) as caught:
        build_headless(config)
    message = str(caught.value)
    assert message.startswith("cannot start: 2 devices cannot be opened: ")
    assert "drawer (gpio, relay BCM 17): pin factory 'lgpio' failed to load: " in message
    assert "No module named 'lgpio'" in message
    assert "install python3-lgpio (apt) or `pip install lgpio`" in message
    assert "light (gpio, green BCM 24, amber BCM 25, red BCM 16): " in message
    assert not db.exists()  # nothing was started, kiosk.db not even opened


# ------------------------------------------------------------------------------ ESC/POS
def test_escpos_printer_over_network_to_a_local_socket(base: Config) -> None:
    server = LocalPrinter()
    try:
        config = devices_config(
            base,
            f'[devices]\nprinter = "escpos"\n[devices.escpos_printer]\ntransport = "network"\n'
            f'host = "127.0.0.1"\nport = {server.port}\nprofile = "epson-tm-t88"\n'
            "timeout_s = 1.0\n",
        )
        devices = build_devices(config, FakeClock(START))
        try:
            printer = devices.printer
            assert isinstance(printer, EscposPrinter)
            assert server.queries[:2] == [1, 4]  # opened and asked at start-up
            health = devices.health()[0]
            assert (health["kind"], health["ok"], health["detail"]) == (
                "escpos-network",
                True,
                "ready",
            )
            printer.print_test_page("TEST-1")
            assert b"TEST-1" in server.wait_for(200)
        finally:
            devices.close()
    finally:
        server.kill()


def test_escpos_printer_that_cannot_be_reached_stops_start_up(base: Config) -> None:
    server = LocalPrinter()
    port = server.port
    server.kill()  # nothing listens there any more
    config = devices_config(
        base,
        f'[devices]\nprinter = "escpos"\n[devices.escpos_printer]\ntransport = "network"\n'
        f'host = "127.0.0.1"\nport = {port}\ntimeout_s = 0.5\n',
    )
    with pytest.raises(DeviceError) as caught:
        build_devices(config, FakeClock(START))
    message = str(caught.value)
    assert f"printer (escpos, network 127.0.0.1:{port}) cannot be opened: offline: " in message
    assert "Check that it is switched on and connected" in message


def test_escpos_printer_over_file_and_drawer_kicked_through_it(
    base: Config, tmp_path: Path
) -> None:
    out = tmp_path / "lp0"
    config = devices_config(
        base,
        f'[devices]\nprinter = "escpos"\ndrawer = "printer"\n[devices.escpos_printer]\n'
        f'transport = "file"\nfile_path = "{out}"\nprofile = "epson-tm-t88"\n'
        "[devices.printer_drawer]\npin = 5\npulse_ms = 200\n",
    )
    devices = build_devices(config, FakeClock(START))
    try:
        assert isinstance(devices.drawer, PrinterDrawer)
        devices.drawer.open()
        devices.printer.print_test_page("TEST-2")
        assert devices.drawer.is_open() is None  # no switch through the printer
        health = {h["device"]: h for h in devices.health()}
        assert health["printer"]["detail"] == "ready (status cannot be read over this transport)"
        assert health["drawer"]["kind"] == "printer" and health["drawer"]["ok"]
    finally:
        devices.close()
    data = out.read_bytes()
    assert data.startswith(b"\x1bp\x01\x64\x64")  # ESC p, pin 5, 200 ms = 100 units of 2 ms
    assert b"TEST-2" in data


# ------------------------------------------------------------------------------ printer drawer
def file_printer(path: Path) -> EscposPrinter:
    settings = EscposSettings(transport="file", file_path=str(path), profile="epson-tm-t88")
    return EscposPrinter(settings, FakeClock(START))


def test_printer_drawer_kicks_pin_2_for_100_ms_by_default(tmp_path: Path) -> None:
    printer = file_printer(tmp_path / "lp0")
    drawer = PrinterDrawer(printer, FakeClock(START))
    drawer.open()
    drawer.open()
    printer.close()
    assert (tmp_path / "lp0").read_bytes() == b"\x1bp\x00\x32\x32" * 2
    assert drawer.pulses == [START, START]


def test_printer_drawer_fault_names_the_printer_and_shows_in_health() -> None:
    missing = EscposSettings(transport="file", file_path="/dev/kiosk-test-no-such-printer")
    drawer = PrinterDrawer(EscposPrinter(missing, FakeClock(START)), FakeClock(START))
    with pytest.raises(DeviceError) as caught:
        drawer.open()
    assert str(caught.value).startswith("drawer drawer (printer printer's drawer port): not_found:")
    health = drawer.health()
    assert health["ok"] is False and "not_found" in health["detail"]


@pytest.mark.parametrize(
    ("pin", "pulse_ms", "problem"),
    [
        (3, 100, "pin must be 2 or 5 (the drawer connector pin), got 3"),
        (2, 10, "pulse_ms must be 20..500, got 10"),
        (2, 600, "pulse_ms must be 20..500, got 600"),
        (True, 100, "pin must be 2 or 5 (the drawer connector pin), got True"),
    ],
)
def test_printer_drawer_settings_refuse_bad_values(pin: int, pulse_ms: int, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        PrinterDrawerSettings(pin, pulse_ms)
    assert str(caught.value) == problem


# ------------------------------------------------------------------------------ scanners
def test_serial_scanner_on_a_pty_scans_through_the_runner_into_the_lane(base: Config) -> None:
    pty = Pty()
    try:
        config = devices_config(
            base,
            f'[devices]\nscanners = ["serial", "fake"]\n[devices.serial_scanner]\n'
            f'device = "{pty.path}"\nname = "bioptic"\n',
        )
        kiosk = build_headless(config, clock=FakeClock(START))
        scanner = kiosk.devices.scanners[0]
        assert isinstance(scanner, SerialScanner)
        with running(kiosk) as (_runner, batches):
            assert wait_until(lambda: bool(scanner.health()["ok"]))  # its port is open
            pty.write(WATER.encode() + b"\r")
            added = batches.wait_for(lambda e: e["event"] == "item_added")
            assert added["sku"] == "100001"
            assert [line["sku"] for line in batches.last_view()["lines"]] == ["100001"]
            assert "scanner-bioptic" in scanner_threads()
    finally:
        pty.close()
    assert scanner_threads() == []  # stopped with the kiosk: no leaked reader thread


def test_serial_scanner_that_is_missing_stops_start_up(base: Config, tmp_path: Path) -> None:
    config = devices_config(
        base, f'[devices]\nscanner = "serial"\n[devices.serial_scanner]\ndevice = "{tmp_path}/x"\n'
    )
    with pytest.raises(DeviceError) as caught:
        build_devices(config, FakeClock(START))
    message = str(caught.value)
    assert f"scanner scanner (serial): cannot open scanner scanner at {tmp_path}/x" in message
    assert "add the kiosk user to the `dialout` group" in message
    assert scanner_threads() == []


def test_hid_scanner_without_an_allowed_device_stops_start_up(base: Config) -> None:
    config = devices_config(
        base,
        '[devices]\nscanner = "hid"\n[devices.hid_scanner]\nallowed_ids = ["1eab:1a03"]\n'
        'device_path = "/dev/input/by-id/no-such-scanner"\n',
    )
    with pytest.raises(DeviceError) as caught:
        build_devices(config, FakeClock(START))
    assert (
        "scanner scanner (hid): no input device on the allow-list (names none; ids 1eab:1a03) "
        "at /dev/input/by-id/no-such-scanner"
    ) in str(caught.value)


def test_fake_scanner_scan_goes_through_the_runner_into_the_lane(base: Config) -> None:
    kiosk = build_headless(base, clock=FakeClock(START))
    scanner = kiosk.devices.fakes.scanner
    assert scanner is not None
    with running(kiosk) as (_runner, batches):
        assert scanner.scan(WATER) is True
        added = batches.wait_for(lambda e: e["event"] == "item_added")
        assert added["sku"] == "100001"
        scanner.unplug()
        status = batches.wait_for(lambda e: e["event"] == "device_status")
        assert (status["device"], status["status"]) == ("scanner", "disconnected")
    assert scanner.scan(WATER) is False  # unsubscribed on close (and unplugged)


def test_devices_close_releases_what_was_opened_when_one_device_fails(
    base: Config, tmp_path: Path
) -> None:
    """The printer opens, the scanner does not: start-up fails and the printer is closed."""
    out = tmp_path / "lp0"
    config = devices_config(
        base,
        f'[devices]\nprinter = "escpos"\nscanner = "serial"\n[devices.escpos_printer]\n'
        f'transport = "file"\nfile_path = "{out}"\n'
        f'[devices.serial_scanner]\ndevice = "{tmp_path}/none"\n',
    )
    with pytest.raises(DeviceError, match=r"^cannot start: a device cannot be opened: scanner"):
        build_devices(config, FakeClock(START))
    fds = os.listdir("/proc/self/fd")
    assert not any(os.path.realpath(f"/proc/self/fd/{fd}") == str(out) for fd in fds)
