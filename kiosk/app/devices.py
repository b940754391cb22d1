"""The kiosk's devices, built from ``[devices]`` and wired to the lane: ``build_devices``.

``build_devices(config, clock, *, force_fakes=False)`` opens every configured device
(``kiosk.app.device_open``) and returns ``Devices``: the ``printer``, ``drawer`` and ``light``
ports for ``LaneDeps``, the ``scanners``, the lane's ``pollers`` and ``health`` hook, and the
fakes (``fakes``) that ``kiosk sim`` drives. When any configured device cannot be opened, every
device already opened is closed again and one ``DeviceError`` lists each failure (device, why,
what to do); there is no fallback to a fake.

Wiring to the lane's thread (``kiosk.lane_runner.LaneRunner``), after ``connect(runner)``:

- a scanned code, from a real scanner's reader thread or from ``FakeScanner.scan``, is
  submitted as the lane command ``{"cmd": "scan", "code": code}``;
- a device's news is ``lane.device_event(device, kind, detail)`` (``kiosk.lane_devices``) on
  the lane thread: the GPIO drawer's ``drawer_left_open`` / ``drawer_closed``, a scanner's
  ``disconnected`` (a HID device ``refused`` counts as that) or rejected read, a scanner
  ``connected`` again, and what the fakes report (drawer opened, paper, cover, online). News
  from another thread is posted; news made on the lane thread (inside a command, a tick or a
  sim action) is applied at once, inside that work (``LaneSink``);
- ``pollers`` (run by the lane's tick, on the lane thread): the drawer's left-open check (GPIO
  or fake), the GPIO light's escalation, and the real scanners' reconnection watch.

``start()`` then starts the scanners' reader threads (or subscribes the fake scanner) and the
GPIO drawer's worker thread (its pulse and confirmation never hold the lane thread; it reports
``drawer_opened`` / ``drawer_not_opened`` / ``drawer_closed``, posted to the lane);
``close()`` stops them, releases the GPIO pins and the pin factory and closes the printer.

``health()`` lists every device as ``{"device", "name", "kind", "ok", "detail", "fake"}``
(``device`` is printer, drawer, light or scanner); GPIO devices on ``pin_factory = "mock"`` say
so in ``detail``.

Threads: built, connected, started and closed on the main thread; ``health`` is called on the
lane thread and does no I/O (the ESC/POS printer's health is its last known status, asked
before and after every job; ``kiosk hw list`` asks the printer itself).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kiosk.app.device_open import (
    MOCK_NOTE,
    DeviceOpener,
    DrawerAdapter,
    LightAdapter,
    PrinterAdapter,
    ScannerAdapter,
)
from kiosk.checkout import Event, Lane
from kiosk.config import Config
from kiosk.errors import DeviceError, LaneError
from kiosk.hw.drawer import GpioDrawer
from kiosk.hw.escpos_printer import EscposPrinter
from kiosk.hw.fake import FakeDrawer, FakeLight, FakePrinter, FakeScanner
from kiosk.hw.hid_scanner import HidScanner
from kiosk.hw.light import GpioStatusLight
from kiosk.hw.serial_scanner import SerialScanner
from kiosk.lane_runner import LaneRunner
from kiosk.ports import Clock

logger = logging.getLogger(__name__)

Health = dict[str, Any]


@dataclass(frozen=True)
class Fakes:
    """The fake devices among the configured ones (None where a real one is configured)."""

    printer: FakePrinter | None = None
    drawer: FakeDrawer | None = None
    light: FakeLight | None = None
    scanner: FakeScanner | None = None


class LaneSink:
    """Hands device news to the lane. Until ``connect`` it has no lane and drops them (logged):
    ``kiosk sim`` connects it before anything starts; tests that call ``lane.handle`` on their
    own thread (``build_headless`` without a runner) do without device news.

    A report made on the lane thread itself (the fake drawer opening inside a ``cash``
    command, the GPIO drawer's ``poll`` in a tick, a sim action) is applied at once, inside the
    work the lane is doing, so its events are part of that command's or tick's answer; a
    report from any other thread is posted to the lane thread. The lane thread is known from
    the runner's first publication (the restore), before which reports are posted too.
    """

    def __init__(self) -> None:
        self._runner: LaneRunner | None = None
        self._lane_thread: threading.Thread | None = None

    def connect(self, runner: LaneRunner) -> None:
        self._runner = runner
        runner.add_listener(self._note_lane_thread)

    def _note_lane_thread(self, _events: list[Event], _view: Mapping[str, Any]) -> None:
        self._lane_thread = threading.current_thread()

    def scan(self, scanner: str, code: str) -> None:
        """A scanner read ``code``: the lane's ``scan`` command, queued (any thread)."""
        runner = self._runner
        if runner is None:
            logger.info("scan %r from %s dropped: no lane connected yet", code, scanner)
            return
        runner.submit({"cmd": "scan", "code": code})

    def device_event(self, device: str, kind: str, detail: dict[str, Any]) -> None:
        """``lane.device_event(device, kind, detail)`` on the lane thread (any thread)."""
        runner = self._runner
        if runner is None:
            logger.info("%s event %s dropped: no lane connected yet", device, kind)
            return
        if threading.current_thread() is self._lane_thread:
            try:
                runner.lane.device_event(device, kind, detail)
            except LaneError as exc:  # never fail the lane's own work over a report
                logger.warning("%s event %s refused by the lane: %s", device, kind, exc)
            return

        def deliver(lane: Lane) -> None:
            lane.device_event(device, kind, detail)

        runner.post(deliver)


class ScannerWatch:
    """Passes the real scanners' reports to the lane, and tells it when a scanner that
    reported ``disconnected`` reads again (the adapters report only the fault): on the lane
    tick, ``device_event("scanner", "connected", ...)``. A HID device that is ``refused``
    (not allow-listed, or grabbed by another program) counts as disconnected."""

    def __init__(self, sink: LaneSink) -> None:
        self.sink = sink
        self.scanners: tuple[ScannerAdapter, ...] = ()
        self._down: set[str] = set()
        self._lock = threading.Lock()

    def report(self, device: str, kind: str, detail: dict[str, Any]) -> None:
        """A scanner's reader thread: a fault or a rejected read."""
        if kind == "refused":
            kind, detail = "disconnected", {**detail, "refused": True}
        if kind == "disconnected":
            with self._lock:
                self._down.add(str(detail.get("scanner")))
        self.sink.device_event(device, kind, detail)

    def poll(self) -> None:
        for scanner in self.scanners:
            with self._lock:
                if scanner.name not in self._down:
                    continue
            health = scanner.health()
            if not health["ok"]:
                continue
            with self._lock:
                self._down.discard(scanner.name)
            detail = {"scanner": scanner.name, "detail": str(health["detail"])}
            self.sink.device_event("scanner", "connected", detail)


@dataclass
class Devices:
    """Every configured device, opened (see the module docstring)."""

    printer: PrinterAdapter
    drawer: DrawerAdapter
    light: LightAdapter
    scanners: tuple[ScannerAdapter, ...]
    fakes: Fakes
    opener: DeviceOpener
    sink: LaneSink
    pollers: tuple[Callable[[], None], ...] = ()
    _started: bool = False
    _closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def connect(self, runner: LaneRunner) -> None:
        """Send scans and device events to ``runner``'s lane from now on."""
        self.sink.connect(runner)

    def start(self) -> None:
        """Start the scanners: reader threads, or the fake scanner's subscription."""
        with self._lock:
            if self._closed:
                raise DeviceError("the devices were closed")
            if self._started:
                return
            self._started = True
        if isinstance(self.drawer, GpioDrawer):
            self.drawer.start_worker()
        for scanner in self.scanners:
            if isinstance(scanner, FakeScanner):
                scanner.subscribe(self._fake_scan)
            else:
                scanner.start()

    def stop(self) -> None:
        """Stop the scanners (no more codes reach the lane). Idempotent."""
        with self._lock:
            if not self._started:
                return
            self._started = False
        for scanner in self.scanners:
            if isinstance(scanner, FakeScanner):
                scanner.unsubscribe(self._fake_scan)
            else:
                scanner.stop()

    def close(self) -> None:
        """Stop the scanners, release the drawer, light and pins, close the printer."""
        self.stop()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for closer in _closers(self.drawer, self.light, self.printer):
            try:
                closer()
            except DeviceError as exc:  # a device that is gone cannot be released: log it
                logger.warning("closing a device failed: %s", exc)
        self.opener.close()

    def health(self) -> list[Health]:
        """Each device's health, without I/O: for the lane's view (lane thread)."""
        mock = self.opener.mock_pins
        rows: list[tuple[str, object, Health]] = [
            ("printer", self.printer, _printer_health(self.printer)),
            ("drawer", self.drawer, self.drawer.health()),
            ("light", self.light, self.light.health()),
            *(("scanner", scanner, scanner.health()) for scanner in self.scanners),
        ]
        out = []
        for device, adapter, health in rows:
            fake = isinstance(adapter, FakePrinter | FakeDrawer | FakeLight | FakeScanner)
            entry = {"device": device, **health, "fake": fake}
            if mock and isinstance(adapter, GpioDrawer | GpioStatusLight):
                entry["detail"] = f"{entry['detail']} ({MOCK_NOTE})"
            out.append(entry)
        return out

    def _fake_scan(self, code: str) -> None:
        self.sink.scan("scanner", code)


def build_devices(config: Config, clock: Clock, *, force_fakes: bool = False) -> Devices:
    """Open every configured device (see the module docstring); ``ConfigError`` for bad
    settings, ``DeviceError`` listing every device that cannot be opened."""
    opener = DeviceOpener(config, clock, force_fakes=force_fakes)
    sink = LaneSink()
    opened: list[object] = []
    problems: list[str] = []

    def attempt(open_one: Callable[[], Any]) -> Any:
        try:
            device = open_one()
        except DeviceError as exc:
            problems.append(str(exc))
            return None
        opened.append(device)
        return device

    printer = attempt(lambda: opener.printer(sink.device_event))
    drawer = attempt(lambda: opener.drawer(printer, sink.device_event))
    light = attempt(opener.light)
    watch = ScannerWatch(sink)
    scanners = []
    for kind in opener.scanner_kinds():

        def open_scanner(kind: str = kind) -> ScannerAdapter:
            return opener.scanner(kind, sink.scan, watch.report)

        scanners.append(attempt(open_scanner))
    if problems:
        for device in reversed(opened):
            for closer in _closers(device):
                closer()
        opener.close()
        count = "a device" if len(problems) == 1 else f"{len(problems)} devices"
        raise DeviceError(f"cannot start: {count} cannot be opened: " + " | ".join(problems))
    real_scanners = tuple(s for s in scanners if not isinstance(s, FakeScanner))
    pollers: list[Callable[[], None]] = []
    if isinstance(drawer, GpioDrawer | FakeDrawer):
        pollers.append(drawer.poll)
    if isinstance(light, GpioStatusLight):
        pollers.append(light.tick)
    if real_scanners:
        watch.scanners = real_scanners
        pollers.append(watch.poll)
    fake_scanner = next((s for s in scanners if isinstance(s, FakeScanner)), None)
    fakes = Fakes(
        printer if isinstance(printer, FakePrinter) else None,
        drawer if isinstance(drawer, FakeDrawer) else None,
        light if isinstance(light, FakeLight) else None,
        fake_scanner,
    )
    return Devices(printer, drawer, light, tuple(scanners), fakes, opener, sink, tuple(pollers))


def _closers(*devices: object) -> list[Callable[[], None]]:
    """How to shut each device: stop reader threads, release pins, close transports."""
    closers: list[Callable[[], None]] = []
    for device in devices:
        if isinstance(device, GpioDrawer | GpioStatusLight | EscposPrinter):
            closers.append(device.close)
        elif isinstance(device, SerialScanner | HidScanner):
            closers.append(device.stop)
    return closers


def _printer_health(printer: PrinterAdapter) -> Health:
    if isinstance(printer, FakePrinter):
        return printer.health()
    return _cached_escpos_health(printer)


def _cached_escpos_health(printer: EscposPrinter) -> Health:
    """The ESC/POS printer's health from its last status (before and after every job, at
    start-up), without asking it: the lane's view must never wait for a printer."""
    status = printer.last_status
    kind = f"escpos-{printer.settings.transport}"
    fault = status.fault()
    if fault is not None:
        return {"name": printer.name, "kind": kind, "ok": False, "detail": fault}
    if not status.known:
        detail = "ready (status cannot be read over this transport)"
    else:
        detail = "paper near end" if status.paper == "near_end" else "ready"
    return {"name": printer.name, "kind": kind, "ok": True, "detail": detail}
