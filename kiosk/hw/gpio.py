"""The one place that chooses the gpiozero pin factory (the GPIO backend) from the config.

``make_pin_factory("rpigpio" | "lgpio" | "mock")`` returns a new gpiozero ``Factory``; every
GPIO device in ``kiosk.hw`` takes it as ``pin_factory=`` explicitly. gpiozero's class-level
default factory (``Device.pin_factory``) is never set or read here, and there is no fallback
from one backend to another: a till whose relay driver does not load must not start, so a real
factory that fails to import or initialise raises ``DeviceError`` saying which factory, why,
and what to install.

- ``rpigpio``: RPi.GPIO, for the Raspberry Pi 4 and older.
- ``lgpio``: lgpio over ``/dev/gpiochip*``, for the Raspberry Pi 5 (RPi.GPIO does not support
  the Pi 5's RP1 I/O chip) and usable on older models too.
- ``mock``: gpiozero's ``MockFactory`` (``kiosk sim`` and tests); pins are ``MockPin`` objects
  that can be driven and keep a timestamped history of their states.

Threads: called once at start-up by ``kiosk.app`` (and by tests); the factory it returns is
used from the lane thread and from gpiozero's own event and blink threads.
"""

from __future__ import annotations

import logging
from typing import Final, Literal, get_args

from gpiozero import Factory

from kiosk.errors import DeviceError

logger = logging.getLogger(__name__)

PinFactoryName = Literal["rpigpio", "lgpio", "mock"]
PIN_FACTORIES: Final[tuple[str, ...]] = get_args(PinFactoryName)

_RP1_NOTE = "RPi.GPIO does not support the Pi 5's RP1 chip"

INSTALL_HINTS: Final[dict[str, str]] = {
    "rpigpio": (
        "On a Raspberry Pi 4 or older install python3-rpi.gpio (apt) or `pip install RPi.GPIO` "
        "(the kiosk's `pi` extra); on a Raspberry Pi 5 set the pin factory to 'lgpio' "
        f"instead: {_RP1_NOTE}"
    ),
    "lgpio": (
        "On a Raspberry Pi 5 install python3-lgpio (apt) or `pip install lgpio` (the kiosk's "
        f"`pi` extra); {_RP1_NOTE}"
    ),
}
"""What to do when the factory's library is missing (an ImportError)."""

ACCESS_HINTS: Final[dict[str, str]] = {
    "rpigpio": (
        "RPi.GPIO is installed but cannot drive the GPIO: run on a Raspberry Pi 4 or older as a "
        f"user in the `gpio` group; on a Raspberry Pi 5 use 'lgpio' ({_RP1_NOTE})"
    ),
    "lgpio": (
        "lgpio is installed but cannot open the GPIO chip: run on a Raspberry Pi as a user who "
        "can read and write /dev/gpiochip* (the `gpio` group)"
    ),
}
"""What to check when the library loads but the factory cannot start (not a Pi, no access)."""


def make_pin_factory(name: PinFactoryName) -> Factory:
    """A new gpiozero pin factory for ``name``; the caller owns it and ``close()``-s it.

    Raises ``ValueError`` for a name that is not a known factory and ``DeviceError`` when a
    real factory cannot be loaded (library missing, not a Raspberry Pi, no access to the GPIO
    chip...). Never falls back to another factory.
    """
    if name not in PIN_FACTORIES:
        raise ValueError(
            f"unknown pin factory {name!r}: expected one of {', '.join(PIN_FACTORIES)}"
        )
    if name == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    try:
        factory = _load_real(name)
    except Exception as exc:
        reason = reason_of(exc)
        logger.error("pin factory %r failed to load: %s", name, reason)
        hint = (INSTALL_HINTS if isinstance(exc, ImportError) else ACCESS_HINTS)[name]
        raise DeviceError(f"pin factory {name!r} failed to load: {reason}. {hint}") from exc
    logger.info("pin factory %r loaded: %r", name, factory)
    return factory


def _load_real(name: str) -> Factory:
    # Imported here, not at module level: loading one backend must never need the other's
    # library, and gpiozero's backend modules import their C library at import time.
    if name == "rpigpio":
        from gpiozero.pins.rpigpio import RPiGPIOFactory

        return RPiGPIOFactory()
    from gpiozero.pins.lgpio import LGPIOFactory

    return LGPIOFactory()


def reason_of(exc: BaseException) -> str:
    """A library exception as one short line for a DeviceError message: the import
    error's own text, else ``Type: text``."""
    text = str(exc).strip().rstrip(".")
    kind = type(exc).__name__
    if isinstance(exc, ImportError) and text:
        return text
    return f"{kind}: {text}" if text else kind


BCM_PINS: Final[range] = range(28)
"""GPIO numbers (BCM) on the 40-pin header of every Raspberry Pi model the kiosk supports."""


def check_bcm_pin(field: str, value: object) -> int:
    """``value`` if it is a BCM GPIO number on the 40-pin header, else ``ValueError`` naming
    ``field``. Used by the settings dataclasses of the GPIO devices."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be a BCM GPIO number (int), got {value!r}")
    if value not in BCM_PINS:
        raise ValueError(
            f"{field} must be a BCM GPIO number {BCM_PINS.start}..{BCM_PINS.stop - 1}, got {value}"
        )
    return value
