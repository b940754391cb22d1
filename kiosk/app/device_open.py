"""Opening the configured devices, one at a time, with errors that say what to do.

``DeviceOpener(config, clock)`` checks the ``[devices]`` settings (``device_settings``) and then
opens each device on request: ``printer()``, ``drawer(printer)``, ``light()``, ``scanner(kind,
sink)``. A real device is opened for real: the gpiozero pin factory is loaded and the pins are
claimed, the printer's transport is opened and its status asked, a serial scanner's port is
opened once and closed again, a HID scanner's allow-listed input device is looked for. When
that fails the method raises ``DeviceError`` naming the device, why, and what to do; it never
hands back a fake instead. ``force_fakes`` (``kiosk sim --fake-devices``) gives the fakes of
``kiosk.hw.fake`` for every device, after the settings were checked all the same.

The pin factory is loaded once, on the first GPIO device, and shared by the drawer and the
light; ``close()`` releases it. ``pin_factory = "mock"`` is gpiozero's ``MockFactory``: the real
GPIO adapters on simulated pins, allowed because it is asked for by name (never a fallback);
start-up logs a warning and the devices' health says so.

Called at start-up on the main thread (``kiosk.app.devices.build_devices``, ``kiosk hw``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from gpiozero import Factory

from kiosk.app.device_settings import DeviceSettings, device_settings
from kiosk.config import Config
from kiosk.errors import DeviceError
from kiosk.hw.drawer import GpioDrawer
from kiosk.hw.escpos_printer import EscposPrinter
from kiosk.hw.fake import FakeDrawer, FakeLight, FakePrinter, FakeScanner
from kiosk.hw.gpio import PIN_FACTORIES, PinFactoryName, make_pin_factory
from kiosk.hw.hid_scanner import EvdevSource, HidScanner, HidScannerSettings
from kiosk.hw.light import GpioStatusLight
from kiosk.hw.printer_drawer import PrinterDrawer
from kiosk.hw.serial_scanner import SerialScanner, SerialScannerSettings, open_serial_port
from kiosk.ports import Clock

logger = logging.getLogger(__name__)

PrinterAdapter = FakePrinter | EscposPrinter
DrawerAdapter = FakeDrawer | GpioDrawer | PrinterDrawer
LightAdapter = FakeLight | GpioStatusLight
ScannerAdapter = FakeScanner | SerialScanner | HidScanner
# What a real scanner's reader thread and the GPIO drawer call with their news.
CodeSink = Callable[[str, str], None]  # (scanner name, code)
EventSink = Callable[[str, str, dict[str, Any]], None]  # (device, kind, detail)

MOCK_NOTE: Final = "simulated pins (pin_factory = mock)"
_HID_HINT: Final = (
    "plug the scanner in, check its name or USB id with `kiosk hw list` or "
    "/proc/bus/input/devices, and add the kiosk user to the `input` group"
)


class DeviceOpener:
    """Opens the configured adapters (see the module docstring)."""

    def __init__(self, config: Config, clock: Clock, *, force_fakes: bool = False) -> None:
        self.config = config
        self.clock = clock
        self.force_fakes = force_fakes
        self.settings: DeviceSettings = device_settings(config)
        self._factory: Factory | None = None
        self._factory_error: DeviceError | None = None

    # -- what is configured ---------------------------------------------------------------------
    def kind(self, role: str) -> str:
        """The adapter kind configured for ``printer``, ``drawer`` or ``light`` (``fake``
        when forced)."""
        if self.force_fakes:
            return "fake"
        kind: str = getattr(self.config.devices, role)
        return kind

    def scanner_kinds(self) -> tuple[str, ...]:
        return ("fake",) if self.force_fakes else self.config.devices.scanners

    @property
    def mock_pins(self) -> bool:
        return self.config.devices.pin_factory == "mock"

    def where(self, role: str, kind: str | None = None) -> str:
        """Where the device is, for messages and ``kiosk hw list``."""
        kind = kind or self.kind(role)
        s = self.settings
        if kind == "fake":
            return "simulated (kiosk.hw.fake)"
        if role == "printer" and s.escpos_printer is not None:
            return s.escpos_printer.where()
        if kind == "gpio" and role == "drawer" and s.gpio_drawer is not None:
            d = s.gpio_drawer
            switch = "" if d.switch_pin is None else f", switch BCM {d.switch_pin}"
            return f"relay BCM {d.relay_pin}{switch}{self._pins_note()}"
        if kind == "gpio" and role == "light" and s.gpio_light is not None:
            lt = s.gpio_light
            buzzer = "" if lt.buzzer_pin is None else f", buzzer BCM {lt.buzzer_pin}"
            pins = f"green BCM {lt.green_pin}, amber BCM {lt.amber_pin}, red BCM {lt.red_pin}"
            return f"{pins}{buzzer}{self._pins_note()}"
        if kind == "printer" and s.printer_drawer is not None:
            return f"the printer's drawer port, pin {s.printer_drawer.pin}"
        if kind == "serial" and s.serial_scanner is not None:
            return f"{s.serial_scanner.device} at {s.serial_scanner.baud} baud"
        if kind == "hid" and s.hid_scanner is not None:
            hid = s.hid_scanner
            return hid.device_path or f"input device with {hid.allow_list()}"
        return kind

    def _pins_note(self) -> str:
        return f" ({MOCK_NOTE})" if self.mock_pins else ""

    # -- opening ----------------------------------------------------------------------------------
    def printer(self, on_event: EventSink | None = None) -> PrinterAdapter:
        """The printer; the fake one reports what its driving changes (paper, cover,
        online) to ``on_event("printer", kind, detail)``."""
        if self.kind("printer") == "fake":
            return FakePrinter(self.clock, on_event=_for("printer", on_event))
        settings = self.settings.escpos_printer
        assert settings is not None  # printer = "escpos" needs it (device_settings)
        printer = EscposPrinter(settings, self.clock)
        status = printer.status()  # opens the transport; never raises
        error = status.get("error")
        # A transport failure comes back as the adapter's "<code>: <message>" text; an error
        # the printer reports about itself (cutter...) has no code and is a runtime fault.
        if status.get("online") is False and isinstance(error, str) and ": " in error:
            printer.close()
            raise DeviceError(
                f"printer (escpos, {settings.where()}) cannot be opened: {error}. Check that "
                "it is switched on and connected and that [devices.escpos_printer] gives its "
                "address, then run `kiosk hw list`"
            )
        return printer

    def drawer(
        self, printer: PrinterAdapter | None, on_event: EventSink | None = None
    ) -> DrawerAdapter:
        """The drawer. The GPIO drawer, once its worker is started (``Devices.start``), pulses
        and confirms on its own thread and reports ``opened``, ``not_opened`` and ``closed`` to
        ``on_event("drawer", kind, detail)``; its ``poll`` (the lane's tick) reports
        ``left_open``. The fake one reports from the caller's thread."""
        kind = self.kind("drawer")
        if kind == "fake":
            return FakeDrawer(self.clock, on_event=_for("drawer", on_event))
        if kind == "printer":
            settings = self.settings.printer_drawer
            assert settings is not None
            if not isinstance(printer, EscposPrinter):
                raise DeviceError(
                    'drawer (printer): drawer = "printer" kicks through the ESC/POS printer, '
                    "which could not be opened (see the printer's error)"
                )
            return PrinterDrawer(printer, self.clock, settings.pin, settings.pulse_ms)
        gpio = self.settings.gpio_drawer
        assert gpio is not None
        factory = self.pin_factory("drawer")

        try:
            return GpioDrawer(gpio, factory, self.clock, _for("drawer", on_event))
        except DeviceError as exc:
            raise DeviceError(
                f"drawer (gpio, {self.where('drawer')}): {exc}. Check that no other program "
                "uses the pin (`gpioinfo`, another kiosk process) and that no overlay in "
                "/boot/firmware/config.txt claims it"
            ) from exc

    def light(self) -> LightAdapter:
        if self.kind("light") == "fake":
            return FakeLight(self.clock)
        gpio = self.settings.gpio_light
        assert gpio is not None
        factory = self.pin_factory("light")
        try:
            return GpioStatusLight(gpio, factory, self.clock)
        except DeviceError as exc:
            raise DeviceError(
                f"light (gpio, {self.where('light')}): {exc}. Check that no other program uses "
                "the pin (`gpioinfo`, another kiosk process)"
            ) from exc

    def scanner(self, kind: str, on_code: CodeSink, on_event: EventSink) -> ScannerAdapter:
        """The scanner of ``kind``; real ones report their codes to ``on_code(name, code)``
        and their faults to ``on_event("scanner", kind, detail)`` from their reader thread.
        The fake one reports ``unplug``/``plug_in`` to ``on_event``; its codes are wired by
        the caller (``FakeScanner.subscribe``)."""
        if kind == "fake":
            return FakeScanner(self.clock, on_event=_for("scanner", on_event))
        if kind == "serial":
            serial = self.settings.serial_scanner
            assert serial is not None
            self._probe_serial(serial)
            return SerialScanner(
                serial,
                lambda code: on_code(serial.name, code),
                _fault_reporter(serial.name, on_event),
                self.clock,
            )
        hid = self.settings.hid_scanner
        assert hid is not None
        source = self._probe_hid(hid)
        return HidScanner(
            hid,
            lambda code: on_code(hid.name, code),
            _fault_reporter(hid.name, on_event),
            self.clock,
            source=source,
        )

    def close(self) -> None:
        """Release the pin factory (after the GPIO devices were closed). Idempotent."""
        factory, self._factory = self._factory, None
        if factory is not None:
            factory.close()

    # -- helpers ----------------------------------------------------------------------------------
    def pin_factory(self, role: str) -> Factory:
        """The pin factory, loaded on first use (a failure is kept, not retried);
        ``DeviceError`` naming ``role``."""
        if self._factory is None and self._factory_error is None:
            name = self.config.devices.pin_factory
            try:
                if name not in PIN_FACTORIES:  # parse_config makes this unreachable
                    raise DeviceError("no pin factory configured (devices.pin_factory)")
                self._factory = make_pin_factory(_factory_name(name))
            except DeviceError as exc:
                self._factory_error = exc
            if name == "mock":
                logger.warning("GPIO devices run on %s: nothing wired is driven", MOCK_NOTE)
        if self._factory is not None:
            return self._factory
        assert self._factory_error is not None
        if role not in ("drawer", "light"):
            raise self._factory_error
        where = self.where(role)
        raise DeviceError(f"{role} (gpio, {where}): {self._factory_error}") from None

    def _probe_serial(self, settings: SerialScannerSettings) -> None:
        try:
            port = open_serial_port(settings, settings.read_timeout_s)
        except DeviceError as exc:
            raise DeviceError(
                f"scanner {settings.name} (serial): {exc}. Plug the scanner in, give its "
                "/dev/serial/by-id/... link as devices.serial_scanner.device, and add the kiosk "
                "user to the `dialout` group"
            ) from exc
        port.close()

    def _probe_hid(self, settings: HidScannerSettings) -> EvdevSource:
        where = f"scanner {settings.name} (hid)"
        try:
            source = EvdevSource()
        except DeviceError as exc:
            raise DeviceError(f"{where}: {exc}") from exc
        paths = [settings.device_path] if settings.device_path else source.paths()
        for path in paths:
            try:
                device = source.open(path)
            except OSError:
                continue  # unreadable or gone; counted below as not found
            allowed = settings.allows(device)
            device.close()
            if allowed:
                return source
        place = settings.device_path or "/dev/input"
        raise DeviceError(
            f"{where}: no input device on the allow-list ({settings.allow_list()}) at "
            f"{place}: {_HID_HINT}"
        )


def _factory_name(name: str) -> PinFactoryName:
    if name == "rpigpio":
        return "rpigpio"
    if name == "lgpio":
        return "lgpio"
    return "mock"


def _for(device: str, on_event: EventSink | None) -> Callable[[str, dict[str, Any]], None] | None:
    """An adapter's ``on_event(kind, detail)`` as ``on_event(device, kind, detail)``."""
    if on_event is None:
        return None
    sink = on_event

    def report(kind: str, detail: dict[str, Any]) -> None:
        sink(device, kind, detail)

    return report


def _fault_reporter(name: str, on_event: EventSink) -> Callable[[str, str], None]:
    def report(kind: str, detail: str) -> None:
        on_event("scanner", kind, {"scanner": name, "detail": detail})

    return report
