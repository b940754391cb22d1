"""The ``[devices]`` settings tables turned into the adapters' settings dataclasses.

The core config (``kiosk.config``) keeps each ``[devices.<table>]`` as a table of scalars; here
each table becomes the settings dataclass of its adapter (``EscposSettings``,
``DrawerSettings``, ``LightSettings``, ``SerialScannerSettings``, ``HidScannerSettings``,
``PrinterDrawerSettings``), the keys being the dataclass's field names. Every problem is a
``ConfigError`` naming the full dotted key: an unknown key, a wrong type, a value the adapter
refuses (``devices.gpio_drawer.pulse_ms: must be 20..500, got 600``), a required key that is
missing, a BCM pin used by two devices, two scanners with one name.

Nothing here opens a device: ``kiosk config check`` runs ``device_settings`` as it is, and
``kiosk.app.devices`` builds the adapters from its result. Called once at start-up, on the main
thread.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, Union

from kiosk.config import Config, DeviceValue
from kiosk.errors import ConfigError
from kiosk.hw.drawer import DrawerSettings
from kiosk.hw.hid_scanner import HidScannerSettings
from kiosk.hw.light import LightSettings
from kiosk.hw.printer_drawer import PrinterDrawerSettings
from kiosk.hw.printer_profiles import EscposSettings
from kiosk.hw.serial_scanner import SerialScannerSettings

S = TypeVar("S")

# Keys that must be given even though the settings class has a default for them: an ESC/POS
# printer without a transport would silently print into memory (the "dummy" transport).
_REQUIRED_ANYWAY: dict[str, tuple[str, ...]] = {"escpos_printer": ("transport",)}


@dataclass(frozen=True)
class DeviceSettings:
    """The settings of every table that was given or is needed by a configured device."""

    escpos_printer: EscposSettings | None = None
    gpio_drawer: DrawerSettings | None = None
    gpio_light: LightSettings | None = None
    serial_scanner: SerialScannerSettings | None = None
    hid_scanner: HidScannerSettings | None = None
    printer_drawer: PrinterDrawerSettings | None = None


def device_settings(config: Config) -> DeviceSettings:
    """Check every ``[devices.*]`` table against its adapter's settings; ``ConfigError``.

    A table is converted when its device is configured (then a missing required key is an
    error) or when it is given at all (a table kept for later must still be right)."""
    d = config.devices
    needed = {
        "escpos_printer": d.printer == "escpos",
        "gpio_drawer": d.drawer == "gpio",
        "gpio_light": d.light == "gpio",
        "serial_scanner": "serial" in d.scanners,
        "hid_scanner": "hid" in d.scanners,
        "printer_drawer": d.drawer == "printer",
    }
    uses = {
        "escpos_printer": 'printer = "escpos"',
        "gpio_drawer": 'drawer = "gpio"',
        "gpio_light": 'light = "gpio"',
        "serial_scanner": 'scanners has "serial"',
        "hid_scanner": 'scanners has "hid"',
        "printer_drawer": 'drawer = "printer"',
    }
    classes: dict[str, type[Any]] = {
        "escpos_printer": EscposSettings,
        "gpio_drawer": DrawerSettings,
        "gpio_light": LightSettings,
        "serial_scanner": SerialScannerSettings,
        "hid_scanner": HidScannerSettings,
        "printer_drawer": PrinterDrawerSettings,
    }
    built: dict[str, Any] = {}
    for name, cls in classes.items():
        table = d.table(name)
        if needed[name] or table:
            why = f" when {uses[name]}" if needed[name] else ""
            required = _REQUIRED_ANYWAY.get(name, ()) if needed[name] else ()
            built[name] = settings_from_table(cls, f"devices.{name}", table, why, required)
    settings = DeviceSettings(**built)
    _check_shared_pins(config, settings)
    _check_scanner_names(config, settings)
    return settings


def settings_from_table(
    cls: type[S],
    table_key: str,
    table: Mapping[str, DeviceValue],
    why: str = "",
    required: tuple[str, ...] = (),
) -> S:
    """``cls(**table)`` with every value checked against the field's type; ``ConfigError``
    naming ``<table_key>.<field>`` for any problem, the adapter's own checks included."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        if key not in fields:
            known = ", ".join(fields)
            raise ConfigError(f"{table_key}.{key}", f"unknown key (known: {known})")
        kwargs[key] = _convert(f"{table_key}.{key}", hints[key], value)
    for name, f in fields.items():
        has_default = (
            f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        )
        if name not in kwargs and (not has_default or name in required):
            raise ConfigError(f"{table_key}.{name}", f"is required{why}")
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        key = exc.key if exc.key.startswith(f"{table_key}.") else f"{table_key}.{exc.key}"
        raise ConfigError(key, exc.problem) from None
    except (ValueError, TypeError) as exc:
        field, problem = _split_field(str(exc), fields)
        raise ConfigError(f"{table_key}.{field}" if field else table_key, problem) from None


def _split_field(message: str, fields: Mapping[str, object]) -> tuple[str | None, str]:
    """``"pulse_ms must be 20..500, got 600"`` -> ``("pulse_ms", "must be 20..500, got
    600")``: the adapters' settings name the field first in their ValueError messages."""
    first, _, rest = message.partition(" ")
    if first in fields and rest:
        return first, rest
    return None, message


def _convert(key: str, hint: Any, value: DeviceValue) -> Any:
    """One TOML value as the field's type wants it, or ``ConfigError`` naming ``key``."""
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(options) != 1:
            raise TypeError(f"{key}: unsupported settings type {hint!r}")
        return _convert(key, options[0], value)  # None is never given: the key is left out
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices or isinstance(value, bool):
            raise ConfigError(key, f"{value!r} is not one of {', '.join(map(str, choices))}")
        return value
    if origin is tuple:
        item_type = typing.get_args(hint)[0]
        if not isinstance(value, tuple):
            raise ConfigError(key, f"must be a list, got {value!r}")
        return tuple(_convert(key, item_type, item) for item in value)
    return _scalar(key, hint, value)


def _scalar(key: str, hint: Any, value: DeviceValue) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {value!r}")
        return value
    if isinstance(value, bool | tuple):
        raise ConfigError(key, f"must be {_NAMES.get(hint, hint)}, got {value!r}")
    if hint is int and isinstance(value, int):
        return value
    if hint is float and isinstance(value, int | float):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    if hint is bytes and isinstance(value, str):
        try:
            return value.encode("latin-1")  # one byte per character, "\u0002" is STX
        except UnicodeEncodeError:
            raise ConfigError(
                key, f"{value!r}: bytes are written as characters U+0000..U+00FF"
            ) from None
    if hint not in _NAMES:
        raise TypeError(f"{key}: unsupported settings type {hint!r}")
    raise ConfigError(key, f"must be {_NAMES[hint]}, got {value!r}")


_NAMES: dict[Any, str] = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bytes: 'a string (bytes as characters, "\\u0002" for STX)',
}


def _check_shared_pins(config: Config, settings: DeviceSettings) -> None:
    """A BCM pin driven by two devices (the GPIO drawer and the GPIO light) is refused."""
    if config.devices.drawer != "gpio" or config.devices.light != "gpio":
        return
    drawer, light = settings.gpio_drawer, settings.gpio_light
    assert drawer is not None and light is not None  # both needed, so both built
    taken = {drawer.relay_pin: "devices.gpio_drawer.relay_pin"}
    if drawer.switch_pin is not None:
        taken[drawer.switch_pin] = "devices.gpio_drawer.switch_pin"
    for field in ("green_pin", "amber_pin", "red_pin", "buzzer_pin"):
        pin = getattr(light, field)
        if pin in taken:
            raise ConfigError(
                f"devices.gpio_light.{field}", f"BCM {pin} is already used by {taken[pin]}"
            )


def _check_scanner_names(config: Config, settings: DeviceSettings) -> None:
    """Each scanner has its own name (messages, health, the view); the fake one is
    ``scanner``."""
    seen: dict[str, str] = {}
    for kind in config.devices.scanners:
        if kind == "fake":
            name, key = "scanner", "devices.scanners"
        else:
            table = settings.serial_scanner if kind == "serial" else settings.hid_scanner
            assert table is not None  # needed, so built
            name, key = table.name, f"devices.{kind}_scanner.name"
        if name in seen:
            raise ConfigError(
                key, f"{name!r} is also the name of the {seen[name]} scanner; name each one"
            )
        seen[name] = kind
