"""What ``kiosk hw list`` and ``kiosk hw test printer|drawer|light|scanner`` do, for installers.

Both open the configured devices themselves (``DeviceOpener``), one by one, so one broken
device does not hide the others; the CLI holds the kiosk lock (``kiosk.app.lock``) around them,
so they never drive devices a running kiosk is using. Everything opened is closed again before
they return.

- ``list_devices``: one ``DeviceRow`` per configured device (and the pin factory when GPIO is
  used): its kind, where it is, whether it could be opened and its health, asked now (the
  printer is asked for its status).
- ``test_printer``: a test page (ruler, Chinese, bold, the job id as barcode, cut) through the
  adapter, then the printer's status.
- ``test_drawer``: one pulse (or kick), then what the drawer switch reads.
- ``test_light``: every lane state in turn, ``hold_s`` seconds each.
- ``test_scanner``: waits up to ``timeout_s`` for the next scan (a line on ``stdin`` for the
  fake scanner) and says what the core's classifier makes of it.

Each test reports through ``say(line)`` and returns True when the device did what was asked.
Runs on the CLI's main thread; scanners deliver on their own reader threads.
"""

from __future__ import annotations

import dataclasses
import queue
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from kiosk.app.device_open import DeviceOpener, DrawerAdapter, PrinterAdapter
from kiosk.app.loading import time_zone
from kiosk.barcodes import InvalidScan, classify
from kiosk.config import Config
from kiosk.errors import DeviceError
from kiosk.hw.drawer import GpioDrawer
from kiosk.hw.escpos_printer import EscposPrinter
from kiosk.hw.fake import LIGHT_STATES, FakeScanner
from kiosk.hw.light import GpioStatusLight
from kiosk.money import exponent
from kiosk.ports import Clock

Say = Callable[[str], None]

LIGHT_PATTERNS = {
    "ready": "green steady",
    "attention": "amber blinking 1 Hz",
    "intervention": "red blinking 2 Hz",
    "out_of_service": "red steady",
}


@dataclass(frozen=True)
class DeviceRow:
    """One line of ``kiosk hw list``."""

    device: str
    kind: str
    name: str
    where: str
    opened: bool
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def list_devices(config: Config, clock: Clock) -> list[DeviceRow]:
    """Open each configured device, ask its health, close it (see the module docstring)."""
    opener = DeviceOpener(config, clock)
    rows: list[DeviceRow] = []
    opened: list[Any] = []
    try:
        if config.devices.uses_gpio:
            rows.append(_pin_factory_row(opener))
        printer: PrinterAdapter | None = None
        try:
            printer = opener.printer()
            opened.append(printer)
            rows.append(_row(opener, "printer", printer.health()))
        except DeviceError as exc:
            rows.append(_failed(opener, "printer", str(exc)))
        for role in ("drawer", "light"):
            try:
                device = opener.drawer(printer) if role == "drawer" else opener.light()
                opened.append(device)
                rows.append(_row(opener, role, device.health()))
            except DeviceError as exc:
                rows.append(_failed(opener, role, str(exc)))
        for kind in opener.scanner_kinds():
            rows.append(_scanner_row(opener, kind))
    finally:
        _close(opened, opener)
    return rows


def test_printer(config: Config, clock: Clock, say: Say) -> bool:
    opener = DeviceOpener(config, clock)
    try:
        printer = opener.printer()
    except DeviceError as exc:
        opener.close()
        say(f"printer: {exc}")
        return False
    job_id = f"TEST-{clock.now():%Y%m%d-%H%M%S}"
    try:
        printer.print_test_page(job_id)
        job = printer.last_job if isinstance(printer, EscposPrinter) else None
        size = f" ({job.bytes_sent} bytes)" if job is not None else ""
        say(f"printer {printer.name}: test page {job_id} printed{size}")
        say(f"printer {printer.name}: status {_status_text(printer.status())}")
        return True
    except DeviceError as exc:
        say(f"printer {printer.name}: test page failed: {exc}")
        return False
    finally:
        _close([printer], opener)


def test_drawer(config: Config, clock: Clock, say: Say) -> bool:
    opener = DeviceOpener(config, clock)
    opened: list[Any] = []
    try:
        printer = opener.printer() if opener.kind("drawer") == "printer" else None
        if printer is not None:
            opened.append(printer)
        drawer = opener.drawer(printer)
        opened.append(drawer)
    except DeviceError as exc:
        _close(opened, opener)
        say(f"drawer: {exc}")
        return False
    try:
        drawer.open()
    except DeviceError as exc:
        say(f"drawer {drawer.name}: pulse failed: {exc}")
        return False
    else:
        say(f"drawer {drawer.name}: pulsed ({opener.where('drawer')})")
        say(f"drawer {drawer.name}: {_switch_text(drawer)}")
        return True
    finally:
        _close(opened, opener)


def test_light(config: Config, clock: Clock, say: Say, hold_s: float = 2.0) -> bool:
    opener = DeviceOpener(config, clock)
    try:
        light = opener.light()
    except DeviceError as exc:
        opener.close()
        say(f"light: {exc}")
        return False
    try:
        for state in LIGHT_STATES:
            light.show(state)
            say(f"light {light.name}: {state} ({LIGHT_PATTERNS[state]})")
            if hold_s > 0:
                time.sleep(hold_s)  # the installer watches the light: this is the test
        return True
    except DeviceError as exc:
        say(f"light {light.name}: failed: {exc}")
        return False
    finally:
        _close([light], opener)


def test_scanner(config: Config, clock: Clock, say: Say, timeout_s: float, stdin: TextIO) -> bool:
    """Echo the next scan of any configured scanner with its classification."""
    opener = DeviceOpener(config, clock)
    codes: queue.Queue[tuple[str, str]] = queue.Queue()
    faults: list[str] = []

    def on_event(_device: str, kind: str, detail: dict[str, Any]) -> None:
        faults.append(f"{kind}: {detail.get('detail', '')}")
        say(f"scanner {detail.get('scanner') or detail.get('name')}: {kind} {detail}")

    scanners: list[Any] = []
    try:
        for kind in opener.scanner_kinds():
            scanner = opener.scanner(kind, lambda name, code: codes.put((name, code)), on_event)
            scanners.append(scanner)
            if isinstance(scanner, FakeScanner):
                scanner.subscribe(lambda code: codes.put(("scanner", code)))
            else:
                scanner.start()
        kinds = opener.scanner_kinds()
        names = ", ".join(f"{s.name} ({k})" for s, k in zip(scanners, kinds, strict=True))
        fake = next((s for s in scanners if isinstance(s, FakeScanner)), None)
        how = " (the fake scanner reads one line from stdin)" if fake else ""
        say(f"scan a barcode within {timeout_s:g} s with {names}{how}")
        got = _next_code(codes, timeout_s, fake, stdin)
    except DeviceError as exc:
        say(f"scanner: {exc}")
        return False
    finally:
        for scanner in scanners:
            if not isinstance(scanner, FakeScanner):
                scanner.stop()
        opener.close()
    if got is None:
        say(f"no scan within {timeout_s:g} s" + (f" ({'; '.join(faults)})" if faults else ""))
        return False
    name, code = got
    say(f"scanner {name}: {code!r} -> {_classification(config, clock, code)}")
    return True


# -- helpers ------------------------------------------------------------------------------------
def _next_code(
    codes: queue.Queue[tuple[str, str]],
    timeout_s: float,
    fake: FakeScanner | None,
    stdin: TextIO,
) -> tuple[str, str] | None:
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if fake is not None and _readable(stdin, min(left, 0.05)):
            line = stdin.readline()
            if line:
                fake.scan(line.rstrip("\r\n"))
            else:
                fake = None  # end of input: only real scanners can still answer
        try:
            return codes.get(timeout=0.0 if fake is not None else min(left, 0.5))
        except queue.Empty:
            continue


def _readable(stdin: TextIO, wait_s: float) -> bool:
    try:
        fd = stdin.fileno()
    except (OSError, ValueError):  # an in-memory stream: reading never blocks
        return True
    return bool(select.select([fd], [], [], wait_s)[0])


def _classification(config: Config, clock: Clock, code: str) -> str:
    today = clock.now().astimezone(time_zone(config)).date()
    result = classify(code, config.barcodes, today, exponent(config.store.currency))
    if isinstance(result, InvalidScan):
        return f"invalid ({result.reason}: {result.message})"
    kind = type(result).__name__.removesuffix("Scan").lower()
    fields = {k: v for k, v in dataclasses.asdict(result).items() if v not in (None, False)}
    fields.pop("raw", None)
    return f"{kind} " + " ".join(f"{k}={v}" for k, v in fields.items())


def _status_text(status: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in dict(status).items() if v is not None)


def _switch_text(drawer: DrawerAdapter) -> str:
    state = drawer.is_open()
    if state is None:
        return "no drawer switch: check by eye that the drawer opened"
    return "the switch reads OPEN" if state else "the switch reads CLOSED (did it open?)"


def _row(opener: DeviceOpener, device: str, health: dict[str, Any]) -> DeviceRow:
    return DeviceRow(
        device=device,
        kind=opener.kind(device),
        name=str(health.get("name", device)),
        where=opener.where(device),
        opened=True,
        ok=bool(health.get("ok")),
        detail=str(health.get("detail", "")),
    )


def _failed(opener: DeviceOpener, device: str, problem: str) -> DeviceRow:
    kind = opener.kind(device)
    return DeviceRow(device, kind, device, opener.where(device), False, False, problem)


def _pin_factory_row(opener: DeviceOpener) -> DeviceRow:
    name = opener.config.devices.pin_factory
    try:
        factory = opener.pin_factory("pin factory")
    except DeviceError as exc:
        return DeviceRow("pin factory", name, name, "gpiozero", False, False, str(exc))
    detail = "simulated pins: nothing wired is driven" if name == "mock" else repr(factory)
    return DeviceRow("pin factory", name, name, "gpiozero", True, name != "mock", detail)


def _scanner_row(opener: DeviceOpener, kind: str) -> DeviceRow:
    where = opener.where("scanner", kind)
    try:
        scanner = opener.scanner(kind, _ignore_code, _ignore_event)
    except DeviceError as exc:
        return DeviceRow("scanner", kind, "scanner", where, False, False, str(exc))
    if isinstance(scanner, FakeScanner):
        health = scanner.health()
        return DeviceRow("scanner", kind, scanner.name, where, True, health["ok"], health["detail"])
    detail = "found (opened and closed again; `kiosk hw test scanner` reads a scan)"
    return DeviceRow("scanner", kind, scanner.name, where, True, True, detail)


def _close(devices: list[Any], opener: DeviceOpener) -> None:
    for device in reversed(devices):
        if isinstance(device, GpioDrawer | GpioStatusLight | EscposPrinter):
            device.close()
    opener.close()


def _ignore_code(_name: str, _code: str) -> None:
    """``kiosk hw list`` only opens the scanners; it reads nothing."""


def _ignore_event(_device: str, _kind: str, _detail: dict[str, Any]) -> None:
    """``kiosk hw list`` only opens the scanners; it reads nothing."""
