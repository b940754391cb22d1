"""The GPIO cash drawer's settings (``[devices.gpio_drawer]``): ``DrawerSettings``.

Checked when built: a bad value raises ``ValueError`` naming the field. Used by
``kiosk.hw.drawer.GpioDrawer`` (which re-exports it) and ``kiosk.app.device_settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kiosk.hw.gpio import check_bcm_pin

SwitchLevel = Literal["high", "low"]

PULSE_MS_RANGE = range(20, 501)


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
