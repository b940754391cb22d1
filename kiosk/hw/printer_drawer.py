"""The cash drawer kicked through the receipt printer's drawer port: ``PrinterDrawer``.

Most receipt printers have an RJ-11/RJ-12 "DK" socket for the cash drawer; the printer pulses
the drawer's solenoid when it gets ``ESC p m t1 t2``. ``PrinterDrawer`` implements
``kiosk.ports.Drawer`` over ``EscposPrinter.kick_drawer(pin, pulse_ms)``, which sends that
command in the printer profile's pulse units (2 ms on Epson TM models), or the real-time
``DLE DC4`` pulse while the printer is out of paper or its cover is open when the profile has
it, and otherwise refuses with ``DeviceError`` (a buffered ``ESC p`` would open the drawer later,
whenever the printer came back). No GPIO is needed.

``pin`` is the drawer connector pin the solenoid is wired to: 2 (the usual, "drawer 1") or 5
("drawer 2"). ``pulse_ms`` is 20 to 500 ms.

Drawer switch: ``is_open()`` is always ``None`` ("no switch"). ESC/POS printers report the
drawer-kick connector's pin 3 in bit 2 of the ``DLE EOT 1`` status byte, but
``EscposPrinter`` does not expose that bit (its ``PrinterStatus`` has online, paper, cover and
error only), so this adapter cannot confirm that the drawer opened or tell when it is left
open. Use the GPIO drawer (``kiosk.hw.drawer``) with its switch input where that matters.

Threads: ``open``/``is_open`` run on the lane thread (``open`` blocks for the printer's answer,
at most about the printer's ``timeout_s``); ``health`` from any thread. The printer's own lock
serialises a kick with print jobs and status queries.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from kiosk.errors import DeviceError
from kiosk.hw.fake import HISTORY_KEEP, DeviceEvent, Recent
from kiosk.ports import Clock

logger = logging.getLogger(__name__)

KICK_PINS = (2, 5)
PULSE_MS_RANGE = range(20, 501)


class DrawerKicker(Protocol):
    """The part of ``EscposPrinter`` this adapter uses."""

    @property
    def name(self) -> str: ...

    def kick_drawer(self, pin: int = 2, pulse_ms: int = 100) -> None: ...


@dataclass(frozen=True, slots=True)
class PrinterDrawerSettings:
    """The ``[devices.printer_drawer]`` table. Invalid values raise ValueError naming the
    field."""

    pin: int = 2
    pulse_ms: int = 100

    def __post_init__(self) -> None:
        if isinstance(self.pin, bool) or self.pin not in KICK_PINS:
            raise ValueError(f"pin must be 2 or 5 (the drawer connector pin), got {self.pin!r}")
        if isinstance(self.pulse_ms, bool) or not isinstance(self.pulse_ms, int):
            raise ValueError(f"pulse_ms must be an integer, got {self.pulse_ms!r}")
        if self.pulse_ms not in PULSE_MS_RANGE:
            low, high = PULSE_MS_RANGE.start, PULSE_MS_RANGE.stop - 1
            raise ValueError(f"pulse_ms must be {low}..{high}, got {self.pulse_ms}")


class PrinterDrawer:
    """A cash drawer on the receipt printer's drawer port (see the module docstring)."""

    def __init__(
        self,
        printer: DrawerKicker,
        clock: Clock,
        pin: int = 2,
        pulse_ms: int = 100,
        *,
        name: str = "drawer",
    ) -> None:
        self.settings = PrinterDrawerSettings(pin, pulse_ms)
        self.name = name
        self.history: Recent[DeviceEvent] = Recent(HISTORY_KEEP)
        self._printer = printer
        self._clock = clock
        self._lock = threading.Lock()
        self._fault: str | None = None

    def open(self) -> None:
        """Kick the drawer through the printer; ``DeviceError`` naming the printer on a fault."""
        s = self.settings
        try:
            self._printer.kick_drawer(s.pin, s.pulse_ms)
        except DeviceError as exc:
            fault = f"drawer {self.name} (printer {self._printer.name}'s drawer port): {exc}"
            with self._lock:
                self._fault = fault
                self._record("fault", fault)
            logger.warning("%s", fault)
            raise DeviceError(fault) from exc
        with self._lock:
            self._fault = None
            self._record("pulse", f"{s.pulse_ms} ms on pin {s.pin}")

    def is_open(self) -> bool | None:
        """Always None: the printer's drawer status bit is not available (module docstring)."""
        return None

    @property
    def pulses(self) -> list[datetime]:
        """When the drawer was kicked (datetimes), oldest first."""
        with self._lock:
            return [event.at for event in self.history if event.what == "pulse"]

    def health(self) -> dict[str, Any]:
        with self._lock:
            fault = self._fault
        if fault is not None:
            return {"name": self.name, "kind": "printer", "ok": False, "detail": fault}
        detail = f"kicked through printer {self._printer.name}, pin {self.settings.pin}; no switch"
        return {"name": self.name, "kind": "printer", "ok": True, "detail": detail}

    def close(self) -> None:
        """Nothing to release: the printer belongs to its own adapter, closed by its owner."""

    def _record(self, what: str, detail: str = "") -> None:
        self.history.append(DeviceEvent(self._clock.now(), what, detail))
