"""Fake devices you can drive: clock, drawer, status light, receipt printer and scanner.

These are shipped code, not test doubles (gpiozero's ``MockFactory`` is the model). Each fake
implements its port from ``kiosk.ports``, behaves like the real device, can be driven by tests
and by ``kiosk sim`` commands (``drawer.drive_open()``, ``printer.run_out_of_paper()``,
``scanner.scan(code)``), keeps a timestamped ``history`` of what happened, and fails the way the
real device fails (``DeviceError``), never silently.

Threads: the lane thread calls the port methods (``open``, ``show``, ``print_receipt``...);
tests and the ``kiosk sim`` front end call the driving methods, possibly from another thread, so
every fake guards its state with a lock. Scanner callbacks run synchronously in the thread that
calls ``scan``. The drawer, printer and scanner also report what a real device's monitor would
see (drawer opened, paper near end, scanner unplugged...) to an optional ``on_event(kind,
detail)`` sink, called in the driving thread and never with a lock held; the composition root
points it at ``Lane.device_event`` through the lane runner.

Printer faults are raised as ``DeviceError`` whose message starts with a stable code followed by
a colon: ``offline:``, ``cover_open:``, ``paper_out:`` (see ``PRINTER_FAULTS``). The fake printer
renders with ``kiosk.hw.escpos_render`` into python-escpos's ``Dummy`` (imported on the first job:
importing escpos configures logging and writes a cache, see docs/hardware.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from kiosk.errors import DeviceError
from kiosk.hw.printer_profiles import PrinterProfile, get_profile
from kiosk.ports import Clock
from kiosk.receipt import Receipt
from kiosk.timefmt import rfc3339

logger = logging.getLogger(__name__)

LIGHT_STATES: tuple[str, ...] = ("ready", "attention", "intervention", "out_of_service")
PRINTER_FAULTS: tuple[str, ...] = ("offline", "cover_open", "paper_out")
PaperLevel = Literal["ok", "near_end", "out"]
# The fake prints like an Epson TM-T88 with a Chinese font: 42 columns, GB18030, CODE128, cut.
FAKE_PRINTER_PROFILE = "epson-tm-t88-zh"
# How much a device keeps of what it did (``Recent``): events, and the printer's jobs and paper.
HISTORY_KEEP = 1000
JOBS_KEEP = 100
# ``on_event(kind, detail)``: what a device reports, for ``Lane.device_event``.
EventSink = Callable[[str, dict[str, Any]], None]

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


_T = TypeVar("_T")


class Recent(list[_T]):
    """A list of the newest entries only: past ``2 * keep`` it drops all but the newest ``keep``
    (amortised O(1) an append). A device's history, and the fake printer's jobs and paper,
    would otherwise grow for as long as the kiosk runs (``make run`` and demos sell on fakes
    for days: about 4 KB a sale). ``total`` counts every entry ever appended."""

    def __init__(self, keep: int) -> None:
        if keep < 1:
            raise ValueError(f"Recent must keep at least 1 entry, got {keep}")
        super().__init__()
        self.keep = keep
        self.total = 0

    def append(self, item: _T) -> None:
        super().append(item)
        self.total += 1
        if len(self) > 2 * self.keep:
            del self[: len(self) - self.keep]


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """One line of a fake's history: when, what happened, and a detail (state, code...)."""

    at: datetime
    what: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PrintedJob:
    """A job the fake printer put on paper: the receipt laid out as ``text`` at the profile's
    columns, the ``barcode`` payload, the ESC/POS ``data`` that reached the paper, and whether
    it came out whole (``complete`` is False for a job torn by the paper running out)."""

    job_id: str
    text: str
    barcode: str
    data: bytes
    at: datetime
    complete: bool = True


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


def _check_job_id(job_id: str) -> None:
    if not job_id.strip():
        raise ValueError("print job id must not be empty")


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

    Each edge is reported to ``on_event(kind, detail)`` as ``opened`` (``at``) or ``closed``
    (``at``, ``was_open_s``); a pulse that leaves a drawer with a switch shut (jammed) is
    reported as ``not_opened`` (``message``), as the GPIO drawer's worker reports it; ``poll()``
    (the lane's tick) reports ``left_open`` once per opening that lasts ``left_open_after_s``
    seconds or more (the kinds of ``Lane.device_event``). The fake pulses on the calling
    thread: its reports come before ``open()`` returns.
    """

    def __init__(
        self,
        clock: Clock,
        name: str = "drawer",
        pulse_ms: int = 100,
        has_switch: bool = True,
        left_open_after_s: float = 30.0,
        on_event: EventSink | None = None,
    ) -> None:
        if not 50 <= pulse_ms <= 200:
            raise ValueError(f"drawer pulse_ms {pulse_ms} is outside 50..200 ms")
        if not left_open_after_s > 0:
            raise ValueError(f"drawer left_open_after_s must be positive, got {left_open_after_s}")
        self._clock = clock
        self.name = name
        self.pulse_ms = pulse_ms
        self.has_switch = has_switch
        self.left_open_after_s = left_open_after_s
        self.on_event = on_event
        self.history: Recent[DeviceEvent] = Recent(HISTORY_KEEP)
        self._opened_at: tuple[float, datetime] | None = None  # monotonic, wall
        self._left_open_reported = False
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
            report: tuple[str, dict[str, Any]] | None = None
            if not self._jammed and not self._open:
                report = self._set_open(True)
            elif self._jammed and not self._open and self.has_switch:
                message = "drawer_did_not_open: the drawer is jammed (its switch reads closed)"
                self._record("did_not_open", message)
                report = ("not_opened", {"message": message})
        self._report(report)

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

    def poll(self) -> None:
        """The lane's tick: report ``left_open`` once per opening of ``left_open_after_s``."""
        report = None
        with self._lock:
            if self._open and self._opened_at is not None and not self._left_open_reported:
                since, wall = self._opened_at
                open_for = self._clock.monotonic() - since
                if open_for >= self.left_open_after_s:
                    self._left_open_reported = True
                    self._record("left_open", f"{open_for:.1f} s")
                    report = (
                        "left_open",
                        {"opened_at": rfc3339(wall), "open_for_s": round(open_for, 3)},
                    )
        self._report(report)

    def _drive(self, is_open: bool) -> None:
        if not self.has_switch:
            raise RuntimeError(f"drawer {self.name} has no switch fitted to drive")
        report = None
        with self._lock:
            if self._open != is_open:
                report = self._set_open(is_open)
        self._report(report)

    def _set_open(self, is_open: bool) -> tuple[str, dict[str, Any]]:
        """Record an edge (lock held); returns what to report once the lock is released."""
        self._open = is_open
        self._record("opened" if is_open else "closed")
        now, wall = self._clock.monotonic(), self._clock.now()
        if is_open:
            self._opened_at = (now, wall)
            self._left_open_reported = False
            return "opened", {"at": rfc3339(wall)}
        was_open = None if self._opened_at is None else round(now - self._opened_at[0], 3)
        self._opened_at = None
        return "closed", {"at": rfc3339(wall), "was_open_s": was_open}

    def _report(self, report: tuple[str, dict[str, Any]] | None) -> None:
        if report is not None and self.on_event is not None:
            kind, detail = report
            self.on_event(kind, {"name": self.name, **detail})

    def _record(self, what: str, detail: str = "") -> None:
        self.history.append(DeviceEvent(self._clock.now(), what, detail))


class FakeLight:
    """A status tower light. ``show(state)`` switches it; ``state`` is None until first shown."""

    def __init__(self, clock: Clock, name: str = "light") -> None:
        self._clock = clock
        self.name = name
        self.history: Recent[DeviceEvent] = Recent(HISTORY_KEEP)
        self._state: str | None = None
        self._fail_message: str | None = None
        self._broken: str | None = None  # every show fails with this until repair()
        self._last_fault: str | None = None
        self._lock = threading.Lock()

    def show(self, state: str) -> None:
        if state not in LIGHT_STATES:
            raise ValueError(
                f"unknown light state {state!r}: expected one of {', '.join(LIGHT_STATES)}"
            )
        with self._lock:
            message = self._fail_message or self._broken
            if message is not None:
                self._fail_message = None
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

    def break_down(self, message: str) -> None:
        """From now on every ``show()`` raises ``DeviceError(message)``, until ``repair()``."""
        with self._lock:
            self._broken = _check_message(message)

    def repair(self) -> None:
        with self._lock:
            self._broken = None

    def health(self) -> dict[str, Any]:
        with self._lock:
            if self._last_fault is not None:
                return _health(self.name, False, self._last_fault)
            return _health(self.name, True, self._state or "off")


class FakePrinter:
    """A receipt printer with paper, a cover and a connection, printing into python-escpos's
    ``Dummy`` printer.

    ``print_receipt`` renders the receipt with ``kiosk.hw.escpos_render`` for ``profile`` (the
    same bytes ``EscposPrinter`` sends: text, bold total, CODE128 or QR of the receipt number,
    cut), sends them to the ``Dummy`` and keeps them per job (``jobs[i].data``, with the laid-out
    ``text`` for tests); ``output`` is every byte that reached the paper. It refuses with
    ``DeviceError("<code>: ...")`` when the printer is offline, its cover is open or it is out
    of paper (checked in that order), and with ``ValueError`` when the job id was already
    printed, so that nothing prints twice by accident. A job that failed was not printed and
    may be sent again with the same id. ``run_out_of_paper_mid_job()`` makes the next job
    print only part of its bytes before the paper runs out (a torn receipt, kept in ``torn``).
    ``status()`` of an offline printer says ``online: False`` and repeats the paper and cover
    state last known.

    Driving it (``run_out_of_paper``, ``paper_near_end``, ``refill``, ``go_offline``,
    ``come_back``, ``open_cover``, ``close_cover``) reports what a status monitor would see to
    ``on_event(kind, detail)``: ``paper_out``, ``paper_near_end``, ``paper_ok``, ``offline``,
    ``back_online``, ``cover_open``, ``cover_closed`` (the kinds of ``Lane.device_event``).
    """

    def __init__(
        self,
        clock: Clock,
        name: str = "printer",
        profile: PrinterProfile | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        self._clock = clock
        self.name = name
        self.profile = profile or get_profile(FAKE_PRINTER_PROFILE)
        self.on_event = on_event
        self.jobs: Recent[PrintedJob] = Recent(JOBS_KEEP)
        self.torn: Recent[PrintedJob] = Recent(JOBS_KEEP)
        self._roll: Recent[bytes] = Recent(JOBS_KEEP)  # what reached the paper, a job each
        self.history: Recent[DeviceEvent] = Recent(HISTORY_KEEP)
        self._printed: Recent[str] = Recent(HISTORY_KEEP)  # job ids: a job prints once
        self._online = True
        self._paper: PaperLevel = "ok"
        self._cover_open = False
        self._fail_message: str | None = None
        self._tear_after: int | None = None  # bytes of the next job printed before paper out
        self._tear_armed = False
        self._dummy: Any = None
        self._lock = threading.Lock()

    # -- the port (lane thread) -------------------------------------------------------------
    def print_receipt(self, job_id: str, receipt: Receipt) -> None:
        """Print the receipt document (see the class docstring)."""
        from kiosk.hw.escpos_render import receipt_lines, render_receipt

        _check_job_id(job_id)
        job = render_receipt(receipt, self.profile, None)  # a bad barcode fails here: ValueError
        text = "".join(f"{line.text}\n" for line in receipt_lines(receipt, self.profile.columns))
        self._print(job_id, job.data, text, receipt.barcode)

    def print_test_page(self, job_id: str) -> None:
        """The installer's test page, as ``EscposPrinter.print_test_page`` prints it."""
        from kiosk.hw.escpos_render import render_job, test_page_lines

        _check_job_id(job_id)
        lines = test_page_lines(self.profile)
        barcode = job_id if job_id.isascii() and job_id.isprintable() else ""
        job = render_job(lines, barcode, self.profile, None)
        self._print(job_id, job.data, "".join(f"{line.text}\n" for line in lines), barcode)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"online": self._online, "paper": self._paper, "cover_open": self._cover_open}

    @property
    def output(self) -> bytes:
        """The bytes that reached the paper, oldest first: what python-escpos's ``Dummy``
        received for each of the newest ``JOBS_KEEP`` jobs and torn jobs, or more (``Recent``)."""
        with self._lock:
            return b"".join(self._roll)

    # -- driving it (tests, kiosk sim) ---------------------------------------------------------
    def run_out_of_paper(self) -> None:
        self._set_paper("out")

    def paper_near_end(self) -> None:
        self._set_paper("near_end")

    def refill(self) -> None:
        self._set_paper("ok")

    def run_out_of_paper_mid_job(self, after_bytes: int | None = None) -> None:
        """The paper runs out during the next job: only its first ``after_bytes`` bytes
        (default: half of them) reach the paper, then the job fails with ``paper_out``."""
        if after_bytes is not None and after_bytes < 0:
            raise ValueError(f"after_bytes must not be negative, got {after_bytes}")
        with self._lock:
            self._tear_after = after_bytes
            self._tear_armed = True

    def go_offline(self) -> None:
        """Unplugged, powered off or the network link is down."""
        with self._lock:
            self._online = False
            self._record("offline")
        self._report("offline", {"message": "offline: the printer does not answer"})

    def come_back(self) -> None:
        with self._lock:
            self._online = True
            self._record("online")
        self._report("back_online", {})

    def open_cover(self) -> None:
        with self._lock:
            self._cover_open = True
            self._record("cover_open")
        self._report("cover_open", {"message": "cover_open: the printer cover is open"})

    def close_cover(self) -> None:
        with self._lock:
            self._cover_open = False
            self._record("cover_closed")
        self._report("cover_closed", {})

    def fail_next(self, message: str) -> None:
        """Make the next job raise ``DeviceError(message)`` (a write error, say)."""
        with self._lock:
            self._fail_message = _check_message(message)

    def health(self) -> dict[str, Any]:
        with self._lock:
            fault = self._standing_fault()
            if fault is not None:
                return _health(self.name, False, fault)
            detail = "paper near end" if self._paper == "near_end" else "ready"
            return _health(self.name, True, detail)

    # -- inside ---------------------------------------------------------------------------------
    def _to_paper(self, data: bytes) -> bytes:
        """Send ``data`` to python-escpos's ``Dummy``; what it received (lock held). The
        ``Dummy`` is emptied after each job: the roll keeps the newest jobs' bytes instead."""
        self._dummy._raw(data)
        received = bytes(self._dummy.output)
        self._dummy.clear()
        return received

    def _print(self, job_id: str, data: bytes, text: str, barcode: str) -> None:
        torn = False
        with self._lock:
            if job_id in self._printed:
                raise ValueError(f"job already printed: {job_id}")
            fault = self._fault()
            if fault is not None:
                self._record("refused", f"{job_id} {fault}")
                logger.warning("fake printer %s refused job %s: %s", self.name, job_id, fault)
                raise DeviceError(fault)
            if self._dummy is None:
                from escpos.printer import Dummy

                self._dummy = Dummy()
            now = self._clock.now()
            if self._tear_armed:
                cut = (
                    len(data) // 2 if self._tear_after is None else min(self._tear_after, len(data))
                )
                self._tear_armed, self._tear_after = False, None
                self._roll.append(self._to_paper(data[:cut]))
                self.torn.append(PrintedJob(job_id, text, barcode, data[:cut], now, False))
                self._paper = "out"
                self._record("torn", f"{job_id} after {cut} of {len(data)} bytes")
                torn = True
            else:
                self._roll.append(self._to_paper(data))
                self._printed.append(job_id)
                self.jobs.append(PrintedJob(job_id, text, barcode, data, now))
                self._record("printed", job_id)
        if torn:
            message = f"paper_out: the paper ran out during job {job_id}; the receipt is incomplete"
            logger.warning("fake printer %s: %s", self.name, message)
            raise DeviceError(message)

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
        kinds = {"ok": "paper_ok", "near_end": "paper_near_end", "out": "paper_out"}
        detail = {"message": "paper_out: the printer is out of paper"} if level == "out" else {}
        self._report(kinds[level], detail)

    def _report(self, kind: str, detail: dict[str, Any]) -> None:
        """Tell ``on_event`` (outside the lock: it may ask ``status()`` at once)."""
        if self.on_event is not None:
            self.on_event(kind, {"name": self.name, **detail})

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
    characters...) so the core's handling of bad input can be tested. ``unplug()`` and
    ``plug_in()`` are reported to ``on_event(kind, detail)`` as ``disconnected`` and
    ``connected`` (the kinds of ``Lane.device_event``).
    """

    def __init__(
        self,
        clock: Clock,
        name: str = "scanner",
        debounce_s: float = 0.0,
        on_event: EventSink | None = None,
    ) -> None:
        if debounce_s < 0:
            raise ValueError(f"scanner debounce_s must not be negative, got {debounce_s}")
        self._clock = clock
        self.name = name
        self.on_event = on_event
        self.debounce_s = debounce_s
        self.history: Recent[DeviceEvent] = Recent(HISTORY_KEEP)
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
        if self.on_event is not None:
            self.on_event("disconnected", {"name": self.name, "detail": "unplugged"})

    def plug_in(self) -> None:
        with self._lock:
            self._plugged = True
            self._record("plugged_in")
        if self.on_event is not None:
            self.on_event("connected", {"name": self.name, "detail": "plugged in"})

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
