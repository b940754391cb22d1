"""Serial and USB-CDC barcode scanners through pyserial: ``SerialScanner``.

One reader thread per scanner (``scanner-<name>``) opens the port with
``serial.serial_for_url`` (a device path such as ``/dev/serial/by-id/usb-...`` or a pyserial
URL such as ``loop://``), reads with a short timeout, frames and debounces the bytes
(``kiosk.hw.framing``) and calls ``on_code(code)`` for every decoded code, in order, from that
thread. The callback must be quick (hand the code to the lane's command queue); an exception
in it is logged and the thread goes on.

Rejected frames (garbage, over-long lines...) are logged and reported through
``on_error(kind, detail)`` with a kind from ``framing.FRAME_ERRORS``. Losing the device (a
read error, the port closing, or the device path vanishing or pointing elsewhere, as a
``/dev/serial/by-id`` link does on replug) reports ``on_error("disconnected", detail)`` once,
makes ``health()`` not ok, and the thread retries opening every ``reconnect_s``, so a replug
is picked up within about a second without restarting the kiosk. A device missing at start
is the same fault: reported, visible in ``health()``, retried; never replaced by a fake.

Threads: ``start``/``stop`` from the composition root; ``health`` from any thread; the
callbacks run on the reader thread.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

import serial

from kiosk.errors import ConfigError, DeviceError
from kiosk.hw.framing import FRAMINGS, MAX_LENGTH_LIMIT, CodeDelivery, Framer
from kiosk.hw.reader_thread import ReaderThread
from kiosk.hw.system import SystemClock
from kiosk.ports import Clock

logger = logging.getLogger(__name__)

CodeCallback = Callable[[str], None]
ErrorCallback = Callable[[str, str], None]


class ScannerPort(Protocol):
    """The part of a pyserial port the reader uses (``serial.Serial`` and URL ports)."""

    @property
    def is_open(self) -> bool: ...

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def close(self) -> None: ...


PortOpener = Callable[["SerialScannerSettings", float], ScannerPort]

READ_CHUNK: Final = 4096
CONFIG_TABLE: Final = "devices.serial_scanner"  # where the settings live in kiosk.toml
_MAX_READ_TIMEOUT_S: Final = 0.05
_PATH_CHECK_S: Final = 0.1


@dataclass(frozen=True, slots=True)
class SerialScannerSettings:
    """What the config says about one serial scanner. Invalid values raise ``ConfigError``
    naming the key under ``[devices.serial_scanner]``.

    ``device``: a path (prefer the stable ``/dev/serial/by-id/usb-...`` link) or a pyserial
    URL (``loop://``, ``socket://host:port``). ``framing``: ``CR``, ``LF``, ``CRLF`` or
    ``gap`` (a pause of ``gap_s`` ends a code). ``prefix``/``suffix`` are stripped from every
    frame and must be present. ``debounce_s``: an identical code within this window is a double
    read and dropped (0 turns it off).
    """

    device: str
    name: str = "scanner"
    baud: int = 9600
    framing: str = "CR"
    prefix: bytes = b""
    suffix: bytes = b""
    max_length: int = 128
    gap_s: float = 0.05
    debounce_s: float = 0.5
    reconnect_s: float = 0.5

    def __post_init__(self) -> None:
        if not self.device.strip():
            raise ConfigError(
                f"{CONFIG_TABLE}.device", "must name a serial device or a pyserial URL"
            )
        if not self.name.strip():
            raise ConfigError(f"{CONFIG_TABLE}.name", "must not be empty")
        if self.baud not in serial.SerialBase.BAUDRATES:
            raise ConfigError(
                f"{CONFIG_TABLE}.baud",
                f"{self.baud} is not a standard baud rate "
                f"({', '.join(str(b) for b in serial.SerialBase.BAUDRATES)})",
            )
        if self.framing not in FRAMINGS:
            raise ConfigError(
                f"{CONFIG_TABLE}.framing",
                f"must be one of {', '.join(FRAMINGS)}, got {self.framing!r}",
            )
        if not 1 <= self.max_length <= MAX_LENGTH_LIMIT:
            raise ConfigError(
                f"{CONFIG_TABLE}.max_length",
                f"must be 1 to {MAX_LENGTH_LIMIT}, got {self.max_length}",
            )
        if not 0.005 <= self.gap_s <= 1.0:
            raise ConfigError(f"{CONFIG_TABLE}.gap_s", f"must be 0.005 to 1 s, got {self.gap_s}")
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

    @property
    def is_url(self) -> bool:
        return "://" in self.device

    @property
    def read_timeout_s(self) -> float:
        """Read timeout: short enough to notice a gap, a stop request or a vanished path."""
        if self.framing == "gap":
            return max(0.002, min(_MAX_READ_TIMEOUT_S, self.gap_s / 4))
        return _MAX_READ_TIMEOUT_S

    def framer(self) -> Framer:
        return Framer(self.framing, self.prefix, self.suffix, self.max_length, self.gap_s)


def open_serial_port(settings: SerialScannerSettings, timeout_s: float) -> ScannerPort:
    """Open the scanner's port (path or URL) for reading; ``DeviceError`` if it cannot."""
    try:
        return serial.serial_for_url(
            settings.device,
            baudrate=settings.baud,
            timeout=timeout_s,
            exclusive=None if settings.is_url else True,
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        raise DeviceError(
            f"cannot open scanner {settings.name} at {settings.device}: {exc}"
        ) from exc


class SerialScanner(ReaderThread):
    """A barcode scanner on a serial port; see the module docstring.

    ``open_port`` opens the port (default ``open_serial_port``); tests pass a wrapper that
    keeps the ``loop://`` port it opened so they can write into it.
    """

    def __init__(
        self,
        settings: SerialScannerSettings,
        on_code: CodeCallback,
        on_error: ErrorCallback | None = None,
        clock: Clock | None = None,
        *,
        open_port: PortOpener = open_serial_port,
    ) -> None:
        self.settings = settings
        self._delivery = CodeDelivery(settings.name, on_code, on_error, settings.debounce_s)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._open_port = open_port
        super().__init__()

    @property
    def name(self) -> str:
        return self.settings.name

    KIND = "serial"

    def _starting(self) -> str:
        return f"connecting to {self.settings.device}"

    # -- reader thread -----------------------------------------------------------------------

    def _loop(self) -> None:
        reported = False  # "disconnected" is reported once per outage, not on every retry
        while not self._stop.is_set():
            try:
                port = self._open_port(self.settings, self.settings.read_timeout_s)
            except DeviceError as exc:
                self._set_health(False, f"disconnected: {exc}")
                if not reported:
                    logger.warning("scanner %s: %s; retrying", self.name, exc)
                    self._delivery.report("disconnected", str(exc))
                    reported = True
                self._stop.wait(self.settings.reconnect_s)
                continue
            reported = False
            try:
                lost = self._read_until_lost(port)
            finally:
                self._close(port)
            if lost is not None:
                logger.warning("scanner %s disconnected: %s", self.name, lost)
                self._set_health(False, f"disconnected: {lost}")
                self._delivery.report("disconnected", lost)
                reported = True
                self._stop.wait(self.settings.reconnect_s)

    def _read_until_lost(self, port: ScannerPort) -> str | None:
        """Read and deliver codes until stopped (None) or the device is lost (the reason)."""
        settings = self.settings
        target = None if settings.is_url else os.path.realpath(settings.device)
        framer = settings.framer()
        next_path_check = time.monotonic() + _PATH_CHECK_S  # real time: polling the device
        logger.info("scanner %s connected on %s", self.name, settings.device)
        self._set_health(True, f"connected on {settings.device} at {settings.baud} baud")
        while not self._stop.is_set():
            if not port.is_open:
                return "the port was closed"
            try:
                data = port.read(1)
                if data and (waiting := port.in_waiting):
                    data += port.read(min(waiting, READ_CHUNK))
            except (serial.SerialException, OSError) as exc:
                return f"read failed: {exc}"
            now = self._clock.monotonic()
            results = framer.feed(data, now) if data else []
            results += framer.flush_if_gap(now)
            self._delivery.deliver(results, now)
            if target is not None and time.monotonic() >= next_path_check:
                next_path_check = time.monotonic() + _PATH_CHECK_S
                vanished = self._path_change(target)
                if vanished is not None:
                    return vanished
        return None

    def _path_change(self, target: str) -> str | None:
        device = self.settings.device
        if not os.path.exists(device):
            return f"device path {device} vanished"
        now_target = os.path.realpath(device)
        if now_target != target:
            return f"device path {device} now points to {now_target} (was {target})"
        return None

    def _close(self, port: ScannerPort) -> None:
        try:
            port.close()
        except (serial.SerialException, OSError) as exc:
            logger.warning(
                "scanner %s: closing %s failed: %s", self.name, self.settings.device, exc
            )
