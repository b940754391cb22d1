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

Threads: ``open()``, ``is_open()``, ``poll()`` run on the lane thread; ``open()`` blocks for
the pulse (never call it from the UI thread). gpiozero calls the switch edge handler from its
own event thread; shared state is guarded by a lock, which is never held across a sleep.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from gpiozero import DigitalInputDevice, Factory, OutputDevice

from kiosk.errors import DeviceError
from kiosk.hw.fake import DeviceEvent
from kiosk.hw.gpio import check_bcm_pin, reason_of
from kiosk.ports import Clock

logger = logging.getLogger(__name__)

SwitchLevel = Literal["high", "low"]
EventSink = Callable[[str, dict[str, Any]], None]

PULSE_MS_RANGE = range(20, 501)
_POLL_S = 0.01  # how often open() looks at the switch while it waits for the drawer
_EPSILON_S = 1e-9  # float slack when comparing a measured time with a configured one


def _check_int(field: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{field} must be {low}..{high}, got {value}")


def _check_seconds(field: str, value: object, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field} must be a number of seconds, got {value!r}")
    if not 0 < value <= high:
        raise ValueError(f"{field} must be more than 0 and at most {high} s, got {value}")


@dataclass(frozen=True, slots=True)
class DrawerSettings:
    """How the drawer is wired. Pins are BCM GPIO numbers. Invalid values raise ValueError
    naming the field."""

    relay_pin: int
    active_high: bool = True
    pulse_ms: int = 100
    min_off_ms: int = 500
    switch_pin: int | None = None
    switch_open_when: SwitchLevel = "high"
    debounce_ms: int = 20
    confirm_within_s: float = 1.0
    left_open_after_s: float = 30.0

    def __post_init__(self) -> None:
        check_bcm_pin("relay_pin", self.relay_pin)
        if not isinstance(self.active_high, bool):
            raise ValueError(f"active_high must be true or false, got {self.active_high!r}")
        _check_int("pulse_ms", self.pulse_ms, PULSE_MS_RANGE.start, PULSE_MS_RANGE.stop - 1)
        _check_int("min_off_ms", self.min_off_ms, 0, 60_000)
        if self.switch_pin is not None:
            check_bcm_pin("switch_pin", self.switch_pin)
            if self.switch_pin == self.relay_pin:
                raise ValueError(f"switch_pin must differ from relay_pin ({self.relay_pin})")
        if self.switch_open_when not in ("high", "low"):
            raise ValueError(
                f"switch_open_when must be 'high' or 'low', got {self.switch_open_when!r}"
            )
        _check_int("debounce_ms", self.debounce_ms, 0, 1000)
        _check_seconds("confirm_within_s", self.confirm_within_s, 10.0)
        _check_seconds("left_open_after_s", self.left_open_after_s, 86_400.0)


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
        self.history: list[DeviceEvent] = []
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
        if self._switch is not None:
            self._switch.when_activated = self._on_edge
            self._switch.when_deactivated = self._on_edge

    # -- the port (lane thread) -------------------------------------------------------------
    def open(self) -> None:
        """Pulse the drawer open and, with a switch, confirm it opened (one retry)."""
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
        if self._switch is None:
            return None
        with self._lock:
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
                events.append(("drawer_closed", {"drawer": self.name, "was_open_s": was_open_s}))
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
        """Release the pins (the relay is switched off first). Safe to call twice."""
        with self._open_lock:
            if self._released:
                return
            self._released = True
            if self._switch is not None:
                self._switch.close()
            self._relay.close()

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
