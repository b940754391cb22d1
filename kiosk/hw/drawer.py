"""The cash drawer on GPIO: a relay that pulses the drawer's solenoid, and an optional switch.

``GpioDrawer`` implements ``kiosk.ports.Drawer`` with gpiozero devices on an explicit pin
factory (see ``kiosk.hw.gpio``):

- ``open()`` waits out the minimum off-time since the last pulse (it never skips a pulse),
  energises the relay for ``pulse_ms`` and, when a drawer-open switch is fitted, waits up to
  ``confirm_within_s`` for the switch to read open. A drawer that stays shut gets one more
  pulse; if it is still shut, ``open()`` raises ``DeviceError("drawer_did_not_open: ...")``,
  which the lane turns into a ``drawer_fault`` intervention.
- The switch (pull-up, ``switch_open_when`` says which level means open) is debounced in
  software: a level counts once it has held for ``debounce_ms``, and the edge is dated when it
  began. Opened and closed times go to ``history`` for the shift report.
- ``poll()``, called from the lane's tick, reports ``drawer_left_open`` once per opening that
  lasts longer than ``left_open_after_s``, and ``drawer_closed`` when such a drawer is shut.

Off the lane thread: once ``start_worker()`` ran (the composition root does, ``kiosk.app``),
``open()`` only queues the pulse and returns at once; the drawer's own worker thread pulses,
confirms and retries as above and reports to ``on_event``: ``drawer_opened`` (each opening,
by a pulse or by hand; ``at``), ``drawer_not_opened`` (still shut after the retry, or a relay
fault; ``message``) and ``drawer_closed`` (each closing; ``at``, ``opened_at``,
``was_open_s``). ``poll()`` then reports only ``drawer_left_open``. While a queued pulse is not
yet confirmed, ``is_open()`` is None (not known yet). Without the worker (``kiosk hw test``),
``open()`` blocks and raises as described.

Threads: ``open()``, ``is_open()``, ``poll()`` run on the lane thread; without the worker
``open()`` blocks for the pulse (never call it from the UI thread). gpiozero calls the switch
edge handler from its own event thread; the worker (``drawer-<name>``) waits on a condition of
the same lock. Shared state is guarded by that lock, which is never held across a sleep, and
``on_event`` is never called with it held.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from gpiozero import DigitalInputDevice, Factory, OutputDevice

from kiosk.errors import DeviceError
from kiosk.hw.drawer_settings import PULSE_MS_RANGE, DrawerSettings, SwitchLevel
from kiosk.hw.fake import HISTORY_KEEP, DeviceEvent, Recent
from kiosk.hw.gpio import reason_of
from kiosk.ports import Clock

logger = logging.getLogger(__name__)

__all__ = ["PULSE_MS_RANGE", "DrawerSettings", "GpioDrawer", "SwitchLevel"]

EventSink = Callable[[str, dict[str, Any]], None]

_POLL_S = 0.01  # how often open() looks at the switch while it waits for the drawer
_WATCH_S = 0.02  # how often the worker looks at an open or unsettled switch
_IDLE_S = 0.25  # ... and at a shut, settled one (an edge wakes it sooner)
_EPSILON_S = 1e-9  # float slack when comparing a measured time with a configured one


class GpioDrawer:
    """A cash drawer driven through a relay on GPIO, with an optional drawer-open switch."""

    def __init__(
        self,
        settings: DrawerSettings,
        pin_factory: Factory,
        clock: Clock,
        on_event: EventSink | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "drawer",
    ) -> None:
        self.settings = settings
        self.name = name
        self.history: Recent[DeviceEvent] = Recent(HISTORY_KEEP)
        self._clock = clock
        self._sleep = sleep
        self._on_event = on_event
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._debounce_s = settings.debounce_ms / 1000
        self._last_pulse_end: float | None = None
        self._fault: str | None = None
        self._released = False
        self._relay = self._claim_relay(pin_factory)
        self._switch: DigitalInputDevice | None = None
        if settings.switch_pin is not None:
            self._switch = self._claim_switch(pin_factory, settings.switch_pin)
        now = clock.monotonic()
        self._raw_open = self._read_raw()
        self._raw_since = now
        self._stable_open = self._raw_open
        self._stable_since = now
        self._last_closed = now
        self._reported_since: float | None = None  # the opening reported as left open
        # The worker (start_worker): pulses asked for, one in hand, and the settled edges it
        # has still to report (kind, when it began, when the drawer had opened).
        self._wake = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None
        self._wanted = 0
        self._pulsing = False
        self._edges_due: list[tuple[str, float, float | None]] = []
        if self._switch is not None:
            self._switch.when_activated = self._on_edge
            self._switch.when_deactivated = self._on_edge

    # -- the port (lane thread) -------------------------------------------------------------
    def open(self) -> None:
        """Pulse the drawer open and, with a switch, confirm it opened (one retry). With the
        worker started, the pulse is only queued: its outcome is reported to ``on_event``."""
        with self._lock:
            if self._worker is not None:
                if self._released:
                    raise DeviceError(f"drawer_released: drawer {self.name} was closed down")
                self._wanted += 1
                self._wake.notify_all()
                return
        self.pulse_and_confirm()

    def pulse_and_confirm(self) -> None:
        """``open()`` on the calling thread: blocks for the pulses; ``DeviceError`` when the
        drawer stays shut after the retry, or the relay fails."""
        with self._open_lock:
            if self._released:
                raise DeviceError(f"drawer_released: drawer {self.name} was closed down")
            attempts = 1 if self._switch is None else 2
            for attempt in range(1, attempts + 1):
                started = self._pulse()
                if self._switch is None or self._await_open(started):
                    self._fault = None
                    return
                logger.warning(
                    "drawer %s did not open after pulse %d of %d", self.name, attempt, attempts
                )
            s = self.settings
            fault = (
                f"drawer_did_not_open: relay on BCM {s.relay_pin} pulsed {attempts} times "
                f"({s.pulse_ms} ms) but the switch on BCM {s.switch_pin} still reads closed "
                f"{s.confirm_within_s} s after each pulse"
            )
            self._fault = fault
            with self._lock:
                self._record("did_not_open", fault)
            logger.error("%s", fault)
            raise DeviceError(fault)

    def is_open(self) -> bool | None:
        """True/False from the switch; None without one, or while a queued pulse is not yet
        confirmed."""
        if self._switch is None:
            return None
        with self._lock:
            if self._wanted or self._pulsing:
                return None
            self._refresh()
            return self._stable_open

    # -- lane tick ----------------------------------------------------------------------------
    def poll(self) -> None:
        """Report ``drawer_left_open`` once per long opening and ``drawer_closed`` after it."""
        if self._switch is None or self._released:
            return
        events: list[tuple[str, dict[str, Any]]] = []
        with self._lock:
            now = self._refresh()
            opened_at = self._wall(self._stable_since, now)
            if self._reported_since is not None and self._last_closed > self._reported_since:
                was_open_s = round(self._last_closed - self._reported_since, 3)
                self._reported_since = None
                if self._worker is None:  # else the worker reports every closing
                    closed = {"drawer": self.name, "was_open_s": was_open_s}
                    events.append(("drawer_closed", closed))
            open_for = now - self._stable_since
            if (
                self._stable_open
                and self._reported_since is None
                and open_for >= self.settings.left_open_after_s - _EPSILON_S
            ):
                self._reported_since = self._stable_since
                self._record("left_open", f"{open_for:.1f} s")
                events.append(
                    (
                        "drawer_left_open",
                        {
                            "drawer": self.name,
                            "opened_at": opened_at.isoformat(),
                            "open_for_s": round(open_for, 3),
                        },
                    )
                )
        for kind, detail in events:
            logger.info("drawer %s: %s %s", self.name, kind, detail)
            if self._on_event is not None:
                self._on_event(kind, detail)

    # -- diagnostics and life cycle -----------------------------------------------------------
    @property
    def pulses(self) -> list[datetime]:
        """When the relay pulsed (datetimes), oldest first."""
        with self._lock:
            return [event.at for event in self.history if event.what == "pulse"]

    def health(self) -> dict[str, Any]:
        if self._released:
            return self._health(False, "closed down")
        if self._fault is not None:
            return self._health(False, self._fault)
        if self._switch is None:
            return self._health(True, "no switch fitted")
        return self._health(True, "open" if self.is_open() else "closed")

    def close(self) -> None:
        """Stop the worker, release the pins (the relay is switched off first). Safe to call
        twice. A pulse still queued is dropped (logged)."""
        with self._lock:
            worker, self._worker = self._worker, None
            if self._wanted:
                logger.warning("drawer %s closed with %d pulse(s) queued", self.name, self._wanted)
            self._wanted = 0
            self._released = True
            self._wake.notify_all()
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=5.0)
        with self._open_lock:
            if self._relay.closed:
                return
            if self._switch is not None:
                self._switch.close()
            self._relay.close()

    # -- the worker thread --------------------------------------------------------------------
    def start_worker(self) -> None:
        """From now on pulse on the drawer's own thread and report its edges (see the module
        docstring). Idempotent."""
        with self._lock:
            if self._released:
                raise DeviceError(f"drawer_released: drawer {self.name} was closed down")
            if self._worker is not None:
                return
            self._worker = threading.Thread(
                target=self._work, name=f"drawer-{self.name}", daemon=True
            )
            self._worker.start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no pulse is queued or in hand (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._wanted or self._pulsing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(left)
        return True

    def _work(self) -> None:
        """The worker: pulses what was asked, reports edges; never lets an error out."""
        while True:
            with self._lock:
                if self._worker is not threading.current_thread():
                    return
                pulse = self._wanted > 0
                if pulse:
                    self._wanted -= 1
                    self._pulsing = True
            if pulse:
                self._pulse_in_background()
            self._report_all(self._edges())
            with self._lock:
                if self._worker is not threading.current_thread():
                    return
                if not self._wanted:
                    settled = self._raw_open == self._stable_open
                    self._wake.wait(_IDLE_S if settled and not self._stable_open else _WATCH_S)

    def _pulse_in_background(self) -> None:
        failure: str | None = None
        try:
            self.pulse_and_confirm()
        except DeviceError as exc:
            failure = str(exc)
        except Exception as exc:  # a bug must not kill the worker: report it as a fault
            logger.exception("drawer %s: pulse failed", self.name)
            failure = f"relay_fault: drawer {self.name}: {reason_of(exc)}"
        reports = self._edges()  # "opened" goes before the outcome's news
        with self._lock:
            self._pulsing = False
            self._wake.notify_all()
        if failure is not None:
            reports.append(("drawer_not_opened", {"drawer": self.name, "message": failure}))
        self._report_all(reports)

    def _edges(self) -> list[tuple[str, dict[str, Any]]]:
        """The openings and closings settled since the last call, oldest first."""
        if self._switch is None:
            return []
        with self._lock:
            if self._released:
                return []
            now = self._refresh()
            due, self._edges_due = self._edges_due, []
            reports: list[tuple[str, dict[str, Any]]] = []
            for kind, at, opened in due:
                detail: dict[str, Any] = {
                    "drawer": self.name,
                    "at": self._wall(at, now).isoformat(),
                }
                if kind == "drawer_closed" and opened is not None:
                    detail["opened_at"] = self._wall(opened, now).isoformat()
                    detail["was_open_s"] = round(at - opened, 3)
                reports.append((kind, detail))
            return reports

    def _report_all(self, reports: list[tuple[str, dict[str, Any]]]) -> None:
        for kind, detail in reports:
            logger.info("drawer %s: %s %s", self.name, kind, detail)
            if self._on_event is not None:
                self._on_event(kind, detail)

    def __enter__(self) -> GpioDrawer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the relay ----------------------------------------------------------------------------
    def _claim_relay(self, pin_factory: Factory) -> OutputDevice:
        pin = self.settings.relay_pin
        try:
            return OutputDevice(
                pin,
                active_high=self.settings.active_high,
                initial_value=False,
                pin_factory=pin_factory,
            )
        except Exception as exc:
            raise DeviceError(
                f"relay_unavailable: cannot claim the drawer relay on BCM {pin}: {reason_of(exc)}"
            ) from exc

    def _claim_switch(self, pin_factory: Factory, pin: int) -> DigitalInputDevice:
        try:
            return DigitalInputDevice(
                pin,
                pull_up=True,
                bounce_time=self._debounce_s or None,
                pin_factory=pin_factory,
            )
        except Exception as exc:
            self._relay.close()
            raise DeviceError(
                f"switch_unavailable: cannot claim the drawer switch on BCM {pin}: {reason_of(exc)}"
            ) from exc

    def _pulse(self) -> float:
        """Energise the relay for pulse_ms; return the monotonic time the pulse began."""
        s = self.settings
        if self._last_pulse_end is not None:
            wait = self._last_pulse_end + s.min_off_ms / 1000 - self._clock.monotonic()
            if wait > 0:
                self._sleep(wait)
        started = self._clock.monotonic()
        with self._lock:
            self._record("pulse", f"{s.pulse_ms} ms")
        try:
            self._relay.on()
            try:
                self._sleep(s.pulse_ms / 1000)
            finally:
                self._relay.off()
                self._last_pulse_end = self._clock.monotonic()
        except Exception as exc:
            self._fault = f"relay_fault: drawer relay on BCM {s.relay_pin}: {reason_of(exc)}"
            raise DeviceError(self._fault) from exc
        return started

    def _await_open(self, started: float) -> bool:
        deadline = started + self.settings.confirm_within_s + self._debounce_s
        while True:
            with self._lock:
                now = self._refresh()
                if self._stable_open:
                    return True
            if now >= deadline:
                return False
            self._sleep(min(_POLL_S, deadline - now))

    # -- the switch (lock held unless said otherwise) -----------------------------------------
    def _read_raw(self) -> bool:
        """True when the switch pin reads the drawer-open level right now."""
        if self._switch is None:
            return False
        active = bool(self._switch.value)  # pull-up: active means the pin reads low
        return active == (self.settings.switch_open_when == "low")

    def _on_edge(self) -> None:
        """gpiozero's event thread: the switch pin changed level."""
        with self._lock:
            if not self._released:
                self._note_raw(self._read_raw(), self._clock.monotonic())
                self._wake.notify_all()

    def _refresh(self) -> float:
        now = self._clock.monotonic()
        if self._switch is not None and not self._released:
            self._note_raw(self._read_raw(), now)
        self._settle(now)
        return now

    def _note_raw(self, raw: bool, at: float) -> None:
        if raw != self._raw_open:
            self._settle(at)
            self._raw_open = raw
            self._raw_since = at

    def _settle(self, now: float) -> None:
        held = now - self._raw_since
        if self._raw_open != self._stable_open and held >= self._debounce_s - _EPSILON_S:
            if self._worker is not None:  # whoever settles it, the worker reports it
                kind = "drawer_opened" if self._raw_open else "drawer_closed"
                opened = None if self._raw_open else self._stable_since
                self._edges_due.append((kind, self._raw_since, opened))
            self._stable_open = self._raw_open
            self._stable_since = self._raw_since
            if not self._stable_open:
                self._last_closed = self._raw_since
            self._record("opened" if self._stable_open else "closed", at=self._raw_since)

    def _wall(self, at: float, now: float | None = None) -> datetime:
        now = self._clock.monotonic() if now is None else now
        return self._clock.now() - timedelta(seconds=max(0.0, now - at))

    def _record(self, what: str, detail: str = "", at: float | None = None) -> None:
        when = self._clock.now() if at is None else self._wall(at)
        self.history.append(DeviceEvent(when, what, detail))

    def _health(self, ok: bool, detail: str) -> dict[str, Any]:
        return {"name": self.name, "kind": "gpio", "ok": ok, "detail": detail}
