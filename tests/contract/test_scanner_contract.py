"""The scanner contract: one test body for ``FakeScanner`` and ``SerialScanner``.

What every scanner must do for the lane: a scanned code arrives once, exactly as scanned; the
same code read again within the debounce window is a double read and is dropped, but once the
window has passed it is a new scan; codes arrive in the order they were scanned, none lost or
merged, even in a fast burst; ``health()`` says the scanner is ready.

Rigs:

- ``fake``: ``kiosk.hw.fake.FakeScanner`` on a ``FakeClock`` (scans are synchronous).
- ``pty``: ``kiosk.hw.serial_scanner.SerialScanner`` reading the slave side of a real
  pseudo-terminal pair (``os.openpty``, raw mode); the test plays the scanner by writing
  ``code + CR`` into the master side. Its debounce clock is a ``FakeClock`` the test moves.
- ``real`` (opt-in): ``SerialScanner`` on a real serial port, fed through a second one. Wire
  two USB-serial adapters as a null modem (TX of the feed adapter to RX of the scanner
  adapter, RX to TX, GND to GND; or one dual-port adapter) and run, on the kiosk::

      KIOSK_TEST_REAL_HW=1 \\
      KIOSK_TEST_SERIAL_SCANNER=/dev/serial/by-id/usb-FTDI_..._A-if00-port0 \\
      KIOSK_TEST_SERIAL_FEED=/dev/serial/by-id/usb-FTDI_..._B-if01-port0 \\
      KIOSK_TEST_SERIAL_BAUD=9600 \\
          .venv/bin/pytest -m real_hw tests/contract/test_scanner_contract.py -v

  ``KIOSK_TEST_SERIAL_SCANNER`` is the port the kiosk reads (configured as
  ``devices.serial_scanner.device``), ``KIOSK_TEST_SERIAL_FEED`` the port the test writes
  into, ``KIOSK_TEST_SERIAL_BAUD`` their baud rate (default 9600). The real clock runs: the
  debounce test waits out the 0.3 s window.

Every wait is a wait-until with a deadline; a dropped code is proven by a different code
scanned after it arriving first.
"""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
import serial

from kiosk.hw.fake import FakeClock, FakeScanner
from kiosk.hw.serial_scanner import SerialScanner, SerialScannerSettings
from kiosk.hw.system import SystemClock

REAL_HW = os.environ.get("KIOSK_TEST_REAL_HW") == "1"
DEBOUNCE_S = 0.3
WAIT_S = 5.0
WATER, BEER, CHIPS = "6921168509256", "6935284410013", "6901234567892"


@dataclass
class Delivered:
    """The codes a scanner delivered, in order, from whichever thread delivers them."""

    codes: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def on_code(self, code: str) -> None:
        with self.changed:
            self.codes.append(code)
            self.changed.notify_all()

    def on_error(self, kind: str, detail: str) -> None:
        with self.changed:
            self.errors.append((kind, detail))

    def wait_for(self, count: int) -> list[str]:
        """The codes once at least ``count`` arrived (or what came within ``WAIT_S``)."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.codes) >= count, WAIT_S)
            return list(self.codes)


@dataclass
class Rig:
    """A scanner and the means to scan with it: ``scan(code)`` is a customer scanning,
    ``pass_time(s)`` lets the clock the debounce window runs on move on."""

    scanner: Any
    delivered: Delivered
    scan: Callable[[str], None]
    pass_time: Callable[[float], None]


def _fake_rig(stack: ExitStack) -> Rig:
    clock = FakeClock()
    scanner = FakeScanner(clock, debounce_s=DEBOUNCE_S)
    delivered = Delivered()
    scanner.subscribe(delivered.on_code)
    return Rig(scanner, delivered, lambda code: _fake_scan(scanner, code), clock.advance)


def _fake_scan(scanner: FakeScanner, code: str) -> None:
    scanner.scan(code)


class _PtyFeed:
    """A raw pseudo-terminal pair: ``write`` goes in at the master, the scanner opens ``path``."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        os.close(slave)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]

    def close(self) -> None:
        os.close(self.master)


def _serial_rig(
    stack: ExitStack, device: str, baud: int, clock: Any, write: Callable[[bytes], None]
) -> Rig:
    delivered = Delivered()
    settings = SerialScannerSettings(device, baud=baud, framing="CR", debounce_s=DEBOUNCE_S)
    scanner = SerialScanner(settings, delivered.on_code, delivered.on_error, clock)
    scanner.start()
    stack.callback(scanner.stop)
    deadline = time.monotonic() + WAIT_S
    while not scanner.health()["ok"] and time.monotonic() < deadline:
        time.sleep(0.005)
    assert scanner.health()["ok"], scanner.health()

    def scan(code: str) -> None:
        write(code.encode("ascii") + b"\r")

    def pass_time(seconds: float) -> None:
        if isinstance(clock, FakeClock):
            clock.advance(seconds)
        else:
            time.sleep(seconds)  # the real clock: the window has to pass for real

    return Rig(scanner, delivered, scan, pass_time)


def _pty_rig(stack: ExitStack) -> Rig:
    feed = _PtyFeed()
    stack.callback(feed.close)
    return _serial_rig(stack, feed.path, 9600, FakeClock(), feed.write)


def _real_rig(stack: ExitStack) -> Rig:
    baud = int(os.environ.get("KIOSK_TEST_SERIAL_BAUD", "9600"))
    feed = serial.Serial(os.environ["KIOSK_TEST_SERIAL_FEED"], baudrate=baud, timeout=1.0)
    stack.callback(feed.close)

    def write(data: bytes) -> None:
        feed.write(data)
        feed.flush()

    return _serial_rig(stack, os.environ["KIOSK_TEST_SERIAL_SCANNER"], baud, SystemClock(), write)


@pytest.fixture(
    params=[
        "fake",
        "pty",
        pytest.param(
            "real",
            marks=[
                pytest.mark.real_hw,
                pytest.mark.skipif(
                    not REAL_HW,
                    reason="opt-in: two serial ports wired as a null modem, KIOSK_TEST_REAL_HW=1 "
                    "KIOSK_TEST_SERIAL_SCANNER=... KIOSK_TEST_SERIAL_FEED=... (module docstring)",
                ),
            ],
        ),
    ]
)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    builders = {"fake": _fake_rig, "pty": _pty_rig, "real": _real_rig}
    with ExitStack() as stack:
        yield builders[request.param](stack)


# -- the Scanner contract: one body, every implementation -----------------------------------------
def test_scanned_code_arrives_once_exactly_as_scanned(rig: Rig) -> None:
    rig.scan(WATER)
    assert rig.delivered.wait_for(1) == [WATER]

    rig.scan(BEER)  # anything after it: WATER must not come a second time before BEER

    assert rig.delivered.wait_for(2) == [WATER, BEER]
    assert rig.delivered.errors == []


def test_repeat_within_the_debounce_window_is_dropped(rig: Rig) -> None:
    rig.scan(WATER)
    assert rig.delivered.wait_for(1) == [WATER]

    rig.scan(WATER)  # the scanner read the same label twice
    rig.scan(BEER)
    rig.scan(CHIPS)

    # codes arrive in order: had the double read come through, it would precede BEER
    assert rig.delivered.wait_for(3) == [WATER, BEER, CHIPS]


def test_same_code_after_the_debounce_window_is_a_new_scan(rig: Rig) -> None:
    rig.scan(WATER)
    assert rig.delivered.wait_for(1) == [WATER]

    rig.pass_time(DEBOUNCE_S + 0.05)
    rig.scan(WATER)

    assert rig.delivered.wait_for(2) == [WATER, WATER]


def test_a_different_code_in_between_is_never_debounced(rig: Rig) -> None:
    for code in (WATER, BEER, WATER, BEER):
        rig.scan(code)

    assert rig.delivered.wait_for(4) == [WATER, BEER, WATER, BEER]


def test_a_burst_of_twenty_codes_arrives_in_order_none_lost_or_merged(rig: Rig) -> None:
    codes = [f"69{i:010d}" for i in range(20)]

    for code in codes:
        rig.scan(code)

    assert rig.delivered.wait_for(20) == codes
    assert rig.delivered.errors == []


def test_health_says_the_scanner_is_ready(rig: Rig) -> None:
    rig.scan(CHIPS)
    assert rig.delivered.wait_for(1) == [CHIPS]

    health = rig.scanner.health()

    assert {"name", "kind", "ok", "detail"} <= set(health)
    assert health["ok"] is True
