"""HID keyboard-wedge barcode scanners through evdev on Linux: ``HidScanner``.

A USB scanner in keyboard mode is an input device that types. The kiosk must not let it type
into the UI or a shell, and must not depend on the OS keyboard layout, so ``HidScanner``:

- opens only allow-listed input devices (by device name or USB ``vendor:product`` id,
  optionally narrowed to one ``/dev/input/by-id/...`` path); any other device is refused with
  a ``DeviceError`` naming it and the allow-list, and never grabbed or read;
- grabs each one exclusively (``EVIOCGRAB``) before reading, so its keystrokes reach no one
  else; a device it cannot grab (another program holds it) is refused, not read alongside;
- translates raw key codes with the fixed US table of ``kiosk.hw.keymap``, assembles them up
  to Enter, then frames and debounces as the serial scanner does (``kiosk.hw.framing``).

One reader thread (``scanner-<name>``) waits on all grabbed devices with ``select``, looks for
allow-listed devices every ``reconnect_s`` (so a replugged scanner is grabbed again within
about a second), and calls ``on_code(code)`` and ``on_error(kind, detail)`` from that thread.
Error kinds: those of ``framing.FRAME_ERRORS``, ``disconnected`` (no allow-listed device, or
one went away), ``refused`` (the configured path is not allow-listed, or cannot be grabbed).

The device layer is the small ``InputDeviceSource`` protocol; ``EvdevSource`` is the real one
(evdev is imported only when it is used; without evdev ``start`` fails with what to install).
``keymap.HidCodeAssembler`` is the pure per-device logic (events in, frames out).
"""

from __future__ import annotations

import errno
import logging
import os
import re
import select
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, Protocol

from kiosk.errors import ConfigError, DeviceError
from kiosk.hw.framing import MAX_LENGTH_LIMIT, CodeDelivery, Framer
from kiosk.hw.keymap import HidCodeAssembler, InputEventLike
from kiosk.hw.reader_thread import ReaderThread
from kiosk.hw.system import SystemClock
from kiosk.ports import Clock

logger = logging.getLogger(__name__)

CodeCallback = Callable[[str], None]
ErrorCallback = Callable[[str, str], None]

CONFIG_TABLE: Final = "devices.hid_scanner"  # where the settings live in kiosk.toml
_SELECT_TIMEOUT_S: Final = 0.05
_USB_ID: Final = re.compile(r"[0-9a-f]{4}:[0-9a-f]{4}")


class DeviceIdsLike(Protocol):
    @property
    def vendor(self) -> int: ...

    @property
    def product(self) -> int: ...


class InputDeviceLike(Protocol):
    """The part of ``evdev.InputDevice`` the scanner uses."""

    @property
    def name(self) -> str: ...

    @property
    def info(self) -> DeviceIdsLike: ...

    def fileno(self) -> int: ...

    def grab(self) -> None: ...

    def ungrab(self) -> None: ...

    def read(self) -> Iterator[InputEventLike]: ...

    def close(self) -> None: ...


class InputDeviceSource(Protocol):
    def paths(self) -> list[str]:
        """The input device paths present now (``/dev/input/event*``)."""
        ...

    def open(self, path: str) -> InputDeviceLike:
        """Open one input device; ``OSError`` if it cannot be opened."""
        ...


class EvdevSource:
    """The real input devices, through python-evdev."""

    def __init__(self) -> None:
        try:
            import evdev
        except ImportError as exc:
            raise DeviceError(
                "HID scanners need the evdev package (pip install evdev, part of the kiosk's "
                f"'pi' extra; it builds against the Linux kernel headers): {exc}"
            ) from exc
        self._evdev = evdev

    def paths(self) -> list[str]:
        return list(self._evdev.list_devices())

    def open(self, path: str) -> InputDeviceLike:
        device: InputDeviceLike = self._evdev.InputDevice(path)
        return device


@dataclass(frozen=True, slots=True)
class HidScannerSettings:
    """What the config says about HID scanners. Invalid values raise ``ConfigError``.

    ``allowed_names``: exact input device names (as in ``kiosk hw list`` or
    ``/proc/bus/input/devices``); ``allowed_ids``: USB ids as ``"vvvv:pppp"`` hex. At least one
    entry is required. ``device_path``: optionally, the one path to use
    (``/dev/input/by-id/usb-...-event-kbd``); the device there must still be allow-listed.
    """

    allowed_names: tuple[str, ...] = ()
    allowed_ids: tuple[str, ...] = ()
    device_path: str = ""
    name: str = "scanner"
    prefix: bytes = b""
    suffix: bytes = b""
    max_length: int = 128
    debounce_s: float = 0.5
    reconnect_s: float = 0.5
    _ids: frozenset[tuple[int, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.allowed_names and not self.allowed_ids:
            raise ConfigError(
                f"{CONFIG_TABLE}.allowed_names",
                "a HID scanner needs an allow-list: give allowed_names or allowed_ids",
            )
        if any(not name.strip() for name in self.allowed_names):
            raise ConfigError(f"{CONFIG_TABLE}.allowed_names", "names must not be empty")
        ids: set[tuple[int, int]] = set()
        for usb_id in self.allowed_ids:
            if not _USB_ID.fullmatch(usb_id.lower()):
                raise ConfigError(
                    f"{CONFIG_TABLE}.allowed_ids", f"{usb_id!r} is not a USB id like '05e0:1200'"
                )
            vendor, product = usb_id.split(":")
            ids.add((int(vendor, 16), int(product, 16)))
        object.__setattr__(self, "_ids", frozenset(ids))
        if self.device_path and not self.device_path.startswith("/"):
            raise ConfigError(
                f"{CONFIG_TABLE}.device_path", f"must be an absolute path, got {self.device_path!r}"
            )
        if not self.name.strip():
            raise ConfigError(f"{CONFIG_TABLE}.name", "must not be empty")
        if not 1 <= self.max_length <= MAX_LENGTH_LIMIT:
            raise ConfigError(
                f"{CONFIG_TABLE}.max_length",
                f"must be 1 to {MAX_LENGTH_LIMIT}, got {self.max_length}",
            )
        if not 0 <= self.debounce_s <= 10:
            raise ConfigError(
                f"{CONFIG_TABLE}.debounce_s", f"must be 0 to 10 s, got {self.debounce_s}"
            )
        if not 0.05 <= self.reconnect_s <= 10:
            raise ConfigError(
                f"{CONFIG_TABLE}.reconnect_s", f"must be 0.05 to 10 s, got {self.reconnect_s}"
            )
        try:
            self.framer()
        except ValueError as exc:
            key = "prefix" if str(exc).startswith("prefix") else "suffix"
            raise ConfigError(f"{CONFIG_TABLE}.{key}", str(exc)) from exc

    def allows(self, device: InputDeviceLike) -> bool:
        info = device.info
        return device.name in self.allowed_names or (info.vendor, info.product) in self._ids

    def framer(self) -> Framer:
        return Framer("CR", self.prefix, self.suffix, self.max_length)

    def allow_list(self) -> str:
        names = ", ".join(repr(n) for n in self.allowed_names) or "none"
        ids = ", ".join(self.allowed_ids) or "none"
        return f"names {names}; ids {ids}"


def describe(device: InputDeviceLike, path: str) -> str:
    info = device.info
    return f"'{device.name}' ({info.vendor:04x}:{info.product:04x}) at {path}"


def open_allowed(
    source: InputDeviceSource, path: str, settings: HidScannerSettings
) -> InputDeviceLike:
    """Open the device at ``path`` if it is allow-listed, and grab it exclusively.

    ``DeviceError`` when it cannot be opened, is not on the allow-list (it is closed again
    untouched), or cannot be grabbed (another program holds it).
    """
    try:
        device = source.open(path)
    except OSError as exc:
        raise DeviceError(f"cannot open input device {path}: {exc}") from exc
    if not settings.allows(device):
        device.close()
        raise DeviceError(not_allowed_message(device, path, settings))
    grab_exclusive(device, path, settings)
    return device


def not_allowed_message(device: InputDeviceLike, path: str, settings: HidScannerSettings) -> str:
    return (
        f"input device {describe(device, path)} is not on the allow-list of scanner "
        f"{settings.name} ({settings.allow_list()}); it is not read"
    )


def grab_exclusive(device: InputDeviceLike, path: str, settings: HidScannerSettings) -> None:
    """Grab ``device`` so its keys reach no one else; on failure close it, ``DeviceError``."""
    try:
        device.grab()
    except OSError as exc:
        device.close()
        raise DeviceError(
            f"cannot grab input device {describe(device, path)} exclusively for scanner "
            f"{settings.name}: {exc} (another program holds it)"
        ) from exc


@dataclass
class _Open:
    device: InputDeviceLike
    assembler: HidCodeAssembler
    path: str
    real_path: str

    def describe(self) -> str:
        return describe(self.device, self.path)


class HidScanner(ReaderThread):
    """Keyboard-wedge scanners on allow-listed input devices; see the module docstring."""

    def __init__(
        self,
        settings: HidScannerSettings,
        on_code: CodeCallback,
        on_error: ErrorCallback | None = None,
        clock: Clock | None = None,
        *,
        source: InputDeviceSource | None = None,
    ) -> None:
        self.settings = settings
        self._delivery = CodeDelivery(settings.name, on_code, on_error, settings.debounce_s)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._source = source
        super().__init__()
        self._open: dict[int, _Open] = {}  # by file descriptor; reader thread only
        self._reported: set[str] = set()  # problems already reported in this outage

    @property
    def name(self) -> str:
        return self.settings.name

    KIND = "hid"

    def _starting(self) -> str:
        """Runs in ``start`` under the lock: ``DeviceError`` if evdev is missing."""
        if self._source is None:
            self._source = EvdevSource()
        return "looking for an allow-listed input device"

    # -- reader thread -----------------------------------------------------------------------

    def _loop(self) -> None:
        next_scan = 0.0
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_scan:
                    self._look_for_devices()
                    next_scan = time.monotonic() + self.settings.reconnect_s
                if not self._open:
                    self._stop.wait(max(0.0, next_scan - time.monotonic()))
                    continue
                self._read_ready()
        finally:
            for fd in list(self._open):
                self._close(fd)

    def _read_ready(self) -> None:
        ready, _, _ = select.select(list(self._open), [], [], _SELECT_TIMEOUT_S)
        now = self._clock.monotonic()
        for fd in ready:
            current = self._open[fd]
            try:
                events = list(current.device.read())
            except BlockingIOError:
                continue
            except OSError as exc:
                self._lose(fd, f"{current.describe()} went away: {exc}")
                continue
            for event in events:
                self._delivery.deliver(current.assembler.feed(event, now), now)
        for current in list(self._open.values()):
            self._delivery.deliver(current.assembler.flush(now), now)

    def _candidate_paths(self) -> list[str]:
        source = self._source
        assert source is not None  # set by start()
        explicit = self.settings.device_path
        if not explicit:
            return source.paths()
        return [explicit] if os.path.exists(explicit) else []

    def _look_for_devices(self) -> None:
        """Open and grab allow-listed devices not yet held; report what stands in the way."""
        source = self._source
        assert source is not None  # set by start()
        explicit = self.settings.device_path
        had_devices = bool(self._open)
        held = {current.real_path for current in self._open.values()}
        problems: list[tuple[str, str]] = []
        unreadable = 0
        for path in self._candidate_paths():
            real_path = os.path.realpath(path)
            if real_path in held:
                continue
            try:
                device = source.open(path)
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EPERM):
                    unreadable += 1
                if explicit:
                    problems.append(("disconnected", f"cannot open input device {path}: {exc}"))
                continue
            if not self.settings.allows(device):
                if explicit:
                    problems.append(("refused", not_allowed_message(device, path, self.settings)))
                device.close()
                continue
            try:
                grab_exclusive(device, path, self.settings)
            except DeviceError as exc:
                problems.append(("refused", str(exc)))
                continue
            logger.info("scanner %s grabbed %s", self.name, describe(device, path))
            assembler = HidCodeAssembler(self.settings.framer())
            self._open[device.fileno()] = _Open(device, assembler, path, real_path)
        if self._open and not had_devices:
            self._reported.clear()  # a new outage will be reported again
        if not self._open and not problems:
            detail = f"no allow-listed input device found at {explicit or '/dev/input'}"
            if unreadable:
                detail += (
                    f" ({unreadable} input devices not readable: add the kiosk user to the "
                    "'input' group or install the udev rule)"
                )
            problems.append(("disconnected", detail))
        for kind, detail in problems:
            self._problem(kind, detail)
        if self._open:
            grabbed = ", ".join(current.describe() for current in self._open.values())
            self._set_health(True, f"grabbed {grabbed}")

    def _lose(self, fd: int, detail: str) -> None:
        self._close(fd)
        logger.warning("scanner %s: %s", self.name, detail)
        self._delivery.report("disconnected", detail)
        self._reported.add("disconnected")
        if not self._open:
            self._set_health(False, f"disconnected: {detail}")

    def _close(self, fd: int) -> None:
        current = self._open.pop(fd)
        for action in (current.device.ungrab, current.device.close):
            try:
                action()
            except OSError as exc:  # the device is already gone: nothing to release
                logger.info("scanner %s: %s on %s: %s", self.name, action.__name__, fd, exc)

    def _problem(self, kind: str, detail: str) -> None:
        """A fault that persists across retries: shown in health while no device is held,
        logged and reported once per outage (until a device is grabbed again)."""
        if not self._open:
            self._set_health(False, f"{kind}: {detail}")
        if kind in self._reported:
            return
        self._reported.add(kind)
        logger.warning("scanner %s: %s", self.name, detail)
        self._delivery.report(kind, detail)
