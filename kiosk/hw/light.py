"""The status tower light on GPIO: green, amber and red lamps and an optional buzzer.

``GpioStatusLight`` implements ``kiosk.ports.Light``. Each lane state is a pattern (``PATTERNS``):

    ready            green steady
    attention        amber blinking 1 Hz (help requested)
    intervention     red blinking 2 Hz
    out_of_service   red steady

An intervention shown without a break for longer than ``escalate_after_s`` escalates
(``ESCALATED``): red blinks fast and the buzzer, if fitted, sounds short pulses, until another
state is shown. Showing the state already shown changes nothing (the lane calls ``show`` on
every update), so neither a blink nor the escalation timer restarts.

Blinking and buzzing use gpiozero's ``blink`` with explicit on/off times, which runs on
gpiozero's own background thread per device; ``close()`` stops those threads and releases the
pins.

Threads: ``show``, ``tick`` (escalation check, from the lane's tick) and ``close`` run on the
lane thread; ``health`` and ``state`` may be read from any thread (a lock guards the state).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Final

from gpiozero import LED, Buzzer, Factory

from kiosk.errors import DeviceError
from kiosk.hw.fake import HISTORY_KEEP, DeviceEvent, Recent
from kiosk.hw.gpio import check_bcm_pin, reason_of
from kiosk.ports import Clock

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Pattern:
    """One lamp on: steady (``on_s`` None) or blinking ``on_s`` on, ``off_s`` off."""

    lamp: str
    on_s: float | None = None
    off_s: float | None = None


PATTERNS: Final[dict[str, Pattern]] = {
    "ready": Pattern("green"),
    "attention": Pattern("amber", 0.5, 0.5),
    "intervention": Pattern("red", 0.25, 0.25),
    "out_of_service": Pattern("red"),
}
ESCALATED: Final[Pattern] = Pattern("red", 0.1, 0.1)
BUZZER_PULSE: Final[tuple[float, float]] = (0.2, 1.8)  # on, off: a short beep every 2 s
LAMPS: Final[tuple[str, ...]] = ("green", "amber", "red")


@dataclass(frozen=True, slots=True)
class LightSettings:
    """How the tower light is wired (BCM GPIO numbers). Invalid values raise ValueError
    naming the field."""

    green_pin: int
    amber_pin: int
    red_pin: int
    buzzer_pin: int | None = None
    active_high: bool = True
    escalate_after_s: float = 60.0

    def __post_init__(self) -> None:
        pins = {"green_pin": self.green_pin, "amber_pin": self.amber_pin, "red_pin": self.red_pin}
        if self.buzzer_pin is not None:
            pins["buzzer_pin"] = self.buzzer_pin
        seen: dict[int, str] = {}
        for field, pin in pins.items():
            check_bcm_pin(field, pin)
            if pin in seen:
                raise ValueError(f"{field} uses BCM {pin}, already used by {seen[pin]}")
            seen[pin] = field
        if not isinstance(self.active_high, bool):
            raise ValueError(f"active_high must be true or false, got {self.active_high!r}")
        value = self.escalate_after_s
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"escalate_after_s must be a number of seconds > 0, got {value!r}")


class GpioStatusLight:
    """A tower light (or three LEDs) and an optional buzzer on GPIO."""

    def __init__(
        self,
        settings: LightSettings,
        pin_factory: Factory,
        clock: Clock,
        *,
        name: str = "light",
    ) -> None:
        self.settings = settings
        self.name = name
        self.history: Recent[DeviceEvent] = Recent(HISTORY_KEEP)
        self._clock = clock
        self._lock = threading.Lock()
        self._state: str | None = None
        self._since = 0.0
        self._escalated = False
        self._fault: str | None = None
        self._released = False
        self._lamps: dict[str, LED] = {}
        self._buzzer: Buzzer | None = None
        wanted = [(lamp, getattr(settings, f"{lamp}_pin")) for lamp in LAMPS]
        if settings.buzzer_pin is not None:
            wanted.append(("buzzer", settings.buzzer_pin))
        for part, pin in wanted:
            try:
                device = (Buzzer if part == "buzzer" else LED)(
                    pin, active_high=settings.active_high, pin_factory=pin_factory
                )
            except Exception as exc:
                self._close_devices()
                raise DeviceError(
                    f"light_unavailable: cannot claim the {part} of light {name} on BCM {pin}: "
                    f"{reason_of(exc)}"
                ) from exc
            if part == "buzzer":
                self._buzzer = device
            else:
                self._lamps[part] = device

    # -- the port (lane thread) -------------------------------------------------------------
    def show(self, state: str) -> None:
        if state not in PATTERNS:
            raise ValueError(
                f"unknown light state {state!r}: expected one of {', '.join(PATTERNS)}"
            )
        with self._lock:
            self._check_usable()
            if state == self._state and self._fault is None:
                return
            self._apply(PATTERNS[state], buzz=False)
            self._state = state
            self._since = self._clock.monotonic()
            self._escalated = False
            self._record("show", state)

    def tick(self) -> None:
        """Escalate an intervention shown for longer than ``escalate_after_s``."""
        with self._lock:
            if self._released or self._state != "intervention" or self._escalated:
                return
            shown_for = self._clock.monotonic() - self._since
            if shown_for < self.settings.escalate_after_s - 1e-9:  # float slack
                return
            self._apply(ESCALATED, buzz=True)
            self._escalated = True
            self._record("escalated", f"intervention shown for {shown_for:.0f} s")
            logger.warning(
                "light %s: intervention open for %.0f s, escalating", self.name, shown_for
            )

    @property
    def state(self) -> str | None:
        """The state last shown, None before the first ``show``."""
        return self._state

    @property
    def escalated(self) -> bool:
        return self._escalated

    # -- diagnostics and life cycle -----------------------------------------------------------
    def health(self) -> dict[str, Any]:
        with self._lock:
            if self._released:
                return self._health(False, "closed down")
            if self._fault is not None:
                return self._health(False, self._fault)
            detail = self._state or "off"
            if self._escalated:
                detail += " (escalated)"
            return self._health(True, detail)

    def close(self) -> None:
        """Switch everything off, stop the blink threads and release the pins. Idempotent."""
        with self._lock:
            if self._released:
                return
            self._released = True
            self._close_devices()

    def __enter__(self) -> GpioStatusLight:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals (lock held) ----------------------------------------------------------------
    def _check_usable(self) -> None:
        if self._released:
            raise DeviceError(f"light_released: light {self.name} was closed down")

    def _apply(self, pattern: Pattern, buzz: bool) -> None:
        try:
            for lamp, led in self._lamps.items():
                if lamp != pattern.lamp:
                    led.off()
            led = self._lamps[pattern.lamp]
            if pattern.on_s is None:
                led.on()
            else:
                led.blink(on_time=pattern.on_s, off_time=pattern.off_s)
            if self._buzzer is not None:
                if buzz:
                    self._buzzer.beep(on_time=BUZZER_PULSE[0], off_time=BUZZER_PULSE[1])
                else:
                    self._buzzer.off()
        except Exception as exc:
            self._fault = f"light_fault: light {self.name}: {reason_of(exc)}"
            self._record("fault", self._fault)
            raise DeviceError(self._fault) from exc
        self._fault = None

    def _close_devices(self) -> None:
        devices: list[Any] = [*self._lamps.values()]
        if self._buzzer is not None:
            devices.append(self._buzzer)
        for device in devices:
            device.close()

    def _record(self, what: str, detail: str = "") -> None:
        self.history.append(DeviceEvent(self._clock.now(), what, detail))

    def _health(self, ok: bool, detail: str) -> dict[str, Any]:
        return {"name": self.name, "kind": "gpio", "ok": ok, "detail": detail}
