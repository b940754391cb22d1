"""Fake devices you can drive: clock, drawer, status light, receipt printer and scanner.

These are shipped code, not test doubles (gpiozero's ``MockFactory`` is the model). Each fake
implements its port from ``kiosk.ports``, behaves like the real device, can be driven by tests
and by ``kiosk sim`` commands (``drawer.drive_open()``, ``printer.run_out_of_paper()``,
``scanner.scan(code)``), keeps a timestamped ``history`` of what happened, and fails the way the
real device fails (``DeviceError``), never silently.

Threads: the lane thread calls the port methods (``open``, ``show``, ``print_text``...); tests
and the ``kiosk sim`` front end call the driving methods, possibly from another thread, so every
fake guards its state with a lock. Scanner callbacks run synchronously in the thread that calls
``scan``.

Printer faults are raised as ``DeviceError`` whose message starts with a stable code followed by
a colon: ``offline:``, ``cover_open:``, ``paper_out:`` (see ``PRINTER_FAULTS``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from kiosk.errors import DeviceError
from kiosk.ports import Clock

logger = logging.getLogger(__name__)

LIGHT_STATES: tuple[str, ...] = ("ready", "attention", "intervention", "out_of_service")
PRINTER_FAULTS: tuple[str, ...] = ("offline", "cover_open", "paper_out")
PaperLevel = Literal["ok", "near_end", "out"]

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """One line of a fake's history: when, what happened, and a detail (state, code...)."""

    at: datetime
    what: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PrintJob:
    """A receipt the fake printer put on paper."""

    job_id: str
    text: str
    barcode: str
    at: datetime


class FakeClock:
    """A clock that only moves when told: ``advance(seconds)`` or ``sleep(seconds)``.

    Implements ``kiosk.ports.Clock``. Pass ``clock.sleep`` as the ``sleep`` of a payment
    simulator so that a simulated wait moves time instead of blocking.
    """

    def __init__(self, start: datetime = _EPOCH) -> None:
        if start.tzinfo is None or start.utcoffset() != timedelta(0):
            raise ValueError(f"FakeClock start must be timezone-aware UTC, got {start!r}")
        self._now = start
        self._monotonic = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move time forward; refuses to go backwards (neither clock may)."""
        if seconds < 0:
            raise ValueError(f"cannot advance the clock by a negative {seconds} s")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._monotonic += seconds

    def sleep(self, seconds: float) -> None:
        """Same as ``advance``; has the signature of ``time.sleep``."""
        self.advance(seconds)


def _health(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "kind": "fake", "ok": ok, "detail": detail}


def _check_message(message: str) -> str:
    if not message.strip():
        raise ValueError("a fault message must not be empty")
    return message


class FakeDrawer:
    """A cash drawer: a relay that pulses the solenoid, and optionally a drawer-open switch.

    ``open()`` records a ``pulse`` and, unless the drawer is ``jam()``-med, the drawer opens
    (an ``opened`` event). The customer or attendant shutting it is ``drive_closed()``; someone
    pulling it open by hand is ``drive_open()``. Switch events are edges: driving the switch to
    the state it is already in records nothing. Without a switch, ``is_open()`` is None.
    """

    def __init__(
        self,
        clock: Clock,
        name: str = "drawer",
        pulse_ms: int = 100,
        has_switch: bool = True,
    ) -> None:
        if not 50 <= pulse_ms <= 200:
            raise ValueError(f"drawer pulse_ms {pulse_ms} is outside 50..200 ms")
        self._clock = clock
        self.name = name
        self.pulse_ms = pulse_ms
        self.has_switch = has_switch
        self.history: list[DeviceEvent] = []
        self._open = False
        self._jammed = False
        self._fail_message: str | None = None
        self._last_fault: str | None = None
        self._lock = threading.Lock()

    # -- the port (lane thread) -------------------------------------------------------------
    def open(self) -> None:
        with self._lock:
            if self._fail_message is not None:
                message, self._fail_message = self._fail_message, None
                self._last_fault = message
                self._record("fault", message)
                logger.warning("fake drawer %s relay fault: %s", self.name, message)
                raise DeviceError(message)
            self._last_fault = None
            self._record("pulse", f"{self.pulse_ms} ms")
            if not self._jammed and not self._open:
                self._open = True
                self._record("opened")

    def is_open(self) -> bool | None:
        if not self.has_switch:
            return None
        with self._lock:
            return self._open

    # -- driving it (tests, kiosk sim) ---------------------------------------------------------
    def drive_open(self) -> None:
        """The drawer switch reports open (someone pulled the drawer)."""
        self._drive(True)

    def drive_closed(self) -> None:
        """The drawer switch reports closed (someone pushed the drawer shut)."""
        self._drive(False)

    def jam(self) -> None:
        """From now on a pulse does not open the drawer (stuck latch, coins behind it)."""
        with self._lock:
            self._jammed = True
            self._record("jammed")

    def unjam(self) -> None:
        with self._lock:
            self._jammed = False
            self._record("unjammed")

    def fail_next(self, message: str) -> None:
        """Make the next ``open()`` raise ``DeviceError(message)`` without pulsing."""
        with self._lock:
            self._fail_message = _check_message(message)

    @property
    def pulses(self) -> list[datetime]:
        """When the relay pulsed, oldest first."""
        with self._lock:
            return [event.at for event in self.history if event.what == "pulse"]

    def health(self) -> dict[str, Any]:
        with self._lock:
            if self._last_fault is not None:
                return _health(self.name, False, self._last_fault)
            if not self.has_switch:
                return _health(self.name, True, "no switch fitted")
            return _health(self.name, True, "open" if self._open else "closed")

    def _drive(self, is_open: bool) -> None:
        if not self.has_switch:
            raise RuntimeError(f"drawer {self.name} has no switch fitted to drive")
        with self._lock:
            if self._open != is_open:
                self._open = is_open
                self._record("opened" if is_open else "closed")

    def _record(self, what: str, detail: str = "") -> None:
        self.history.append(DeviceEvent(self._clock.now(), what, detail))


class FakeLight:
    """A status tower light. ``show(state)`` switches it; ``state`` is None until first shown."""

    def __init__(self, clock: Clock, name: str = "light") -> None:
        self._clock = clock
        self.name = name
        self.history: list[DeviceEvent] = []
        self._state: str | None = None
        self._fail_message: str | None = None
        self._last_fault: str | None = None
        self._lock = threading.Lock()

    def show(self, state: str) -> None:
        if state not in LIGHT_STATES:
            raise ValueError(
                f"unknown light state {state!r}: expected one of {', '.join(LIGHT_STATES)}"
            )
        with self._lock:
            if self._fail_message is not None:
                message, self._fail_message = self._fail_message, None
                self._last_fault = message
                self.history.append(DeviceEvent(self._clock.now(), "fault", message))
                raise DeviceError(message)
            self._last_fault = None
            self._state = state
            self.history.append(DeviceEvent(self._clock.now(), "show", state))

    @property
    def state(self) -> str | None:
        """The state last shown (a plain attribute read, no I/O)."""
        return self._state

    def fail_next(self, message: str) -> None:
        """Make the next ``show()`` raise ``DeviceError(message)`` and leave the light as it was."""
        with self._lock:
            self._fail_message = _check_message(message)

    def health(self) -> dict[str, Any]:
        with self._lock:
            if self._last_fault is not None:
                return _health(self.name, False, self._last_fault)
            return _health(self.name, True, self._state or "off")


class FakePrinter:
    """A receipt printer with paper, a cover and a connection.

    ``print_text`` refuses with ``DeviceError("<code>: ...")`` when the printer is offline, its
    cover is open or it is out of paper (checked in that order), and with ``ValueError`` when
    the job id was already printed, so that nothing prints twice by accident. A job that failed
    was not printed and may be sent again with the same id. ``status()`` of an offline printer
    says ``online: False`` and repeats the paper and cover state last known.
    """

    def __init__(self, clock: Clock, name: str = "printer") -> None:
        self._clock = clock
        self.name = name
        self.jobs: list[PrintJob] = []
        self.history: list[DeviceEvent] = []
        self._printed: set[str] = set()
        self._online = True
        self._paper: PaperLevel = "ok"
        self._cover_open = False
        self._fail_message: str | None = None
        self._lock = threading.Lock()

    # -- the port (lane thread) -------------------------------------------------------------
    def print_text(self, job_id: str, text: str, barcode: str) -> None:
        if not job_id.strip():
            raise ValueError("print job id must not be empty")
        if barcode and not (barcode.isascii() and barcode.isprintable()):
            raise ValueError(f"barcode {barcode!r} must be printable ASCII")
        with self._lock:
            if job_id in self._printed:
                raise ValueError(f"job already printed: {job_id}")
            fault = self._fault()
            if fault is not None:
                self._record("refused", f"{job_id} {fault}")
                logger.warning("fake printer %s refused job %s: %s", self.name, job_id, fault)
                raise DeviceError(fault)
            self._printed.add(job_id)
            job = PrintJob(job_id, text, barcode, self._clock.now())
            self.jobs.append(job)
            self._record("printed", job_id)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"online": self._online, "paper": self._paper, "cover_open": self._cover_open}

    # -- driving it (tests, kiosk sim) ---------------------------------------------------------
    def run_out_of_paper(self) -> None:
        self._set_paper("out")

    def paper_near_end(self) -> None:
        self._set_paper("near_end")

    def refill(self) -> None:
        self._set_paper("ok")

    def go_offline(self) -> None:
        """Unplugged, powered off or the network link is down."""
        with self._lock:
            self._online = False
            self._record("offline")

    def come_back(self) -> None:
        with self._lock:
            self._online = True
            self._record("online")

    def open_cover(self) -> None:
        with self._lock:
            self._cover_open = True
            self._record("cover_open")

    def close_cover(self) -> None:
        with self._lock:
            self._cover_open = False
            self._record("cover_closed")

    def fail_next(self, message: str) -> None:
        """Make the next ``print_text`` raise ``DeviceError(message)`` (a write error, say)."""
        with self._lock:
            self._fail_message = _check_message(message)

    def health(self) -> dict[str, Any]:
        with self._lock:
            fault = self._standing_fault()
            if fault is not None:
                return _health(self.name, False, fault)
            detail = "paper near end" if self._paper == "near_end" else "ready"
            return _health(self.name, True, detail)

    def _fault(self) -> str | None:
        if self._fail_message is not None:
            message, self._fail_message = self._fail_message, None
            return message
        return self._standing_fault()

    def _standing_fault(self) -> str | None:
        if not self._online:
            return "offline: the printer does not answer"
        if self._cover_open:
            return "cover_open: the printer cover is open"
        if self._paper == "out":
            return "paper_out: the printer is out of paper"
        return None

    def _set_paper(self, level: PaperLevel) -> None:
        with self._lock:
            self._paper = level
            self._record("paper", level)

    def _record(self, what: str, detail: str = "") -> None:
        self.history.append(DeviceEvent(self._clock.now(), what, detail))


ScanCallback = Callable[[str], None]


class FakeScanner:
    """A barcode scanner. ``scan(code)`` is a customer scanning: the code goes, synchronously,
    to every subscribed callback.

    A scan while ``unplug()``-ged is lost (history ``lost``), as with a real unplugged scanner.
    With ``debounce_s`` > 0 a repeat of the same code within that many seconds is dropped
    (history ``debounced``), as the real adapter drops double reads. A scan with nobody
    subscribed is recorded as ``unheard``. Codes are delivered exactly as given (empty, control
    characters...) so the core's handling of bad input can be tested.
    """

    def __init__(self, clock: Clock, name: str = "scanner", debounce_s: float = 0.0) -> None:
        if debounce_s < 0:
            raise ValueError(f"scanner debounce_s must not be negative, got {debounce_s}")
        self._clock = clock
        self.name = name
        self.debounce_s = debounce_s
        self.history: list[DeviceEvent] = []
        self._callbacks: list[ScanCallback] = []
        self._plugged = True
        self._last: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def subscribe(self, callback: ScanCallback) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def unsubscribe(self, callback: ScanCallback) -> None:
        with self._lock:
            if callback not in self._callbacks:
                raise ValueError(f"{callback!r} is not subscribed to scanner {self.name}")
            self._callbacks.remove(callback)

    def scan(self, code: str) -> bool:
        """Scan ``code``; True when it reached at least one subscriber."""
        if not isinstance(code, str):
            raise TypeError(f"a scanned code is text, got {type(code).__name__}")
        with self._lock:
            now = self._clock.monotonic()
            if not self._plugged:
                self._record("lost", code)
                return False
            if (
                self.debounce_s > 0
                and self._last is not None
                and self._last[0] == code
                and now - self._last[1] < self.debounce_s
            ):
                self._record("debounced", code)
                return False
            self._last = (code, now)
            callbacks = list(self._callbacks)
            self._record("scan" if callbacks else "unheard", code)
        for callback in callbacks:
            callback(code)
        return bool(callbacks)

    def unplug(self) -> None:
        with self._lock:
            self._plugged = False
            self._record("unplugged")

    def plug_in(self) -> None:
        with self._lock:
            self._plugged = True
            self._record("plugged_in")

    @property
    def codes(self) -> list[str]:
        """Every code delivered to subscribers, oldest first."""
        with self._lock:
            return [event.detail for event in self.history if event.what == "scan"]

    def health(self) -> dict[str, Any]:
        with self._lock:
            if not self._plugged:
                return _health(self.name, False, "unplugged")
            return _health(self.name, True, "ready")

    def _record(self, what: str, detail: str = "") -> None:
        self.history.append(DeviceEvent(self._clock.now(), what, detail))
