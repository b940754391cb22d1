"""``EscposPrinter``: the receipt printer port over python-escpos (USB, serial, network, file or
an in-memory dummy), with real-time status, clear errors, and reopening after a power cycle.

Threads: the lane's printer job calls ``print_receipt``/``print_text``; the drawer adapter calls
``kick_drawer``; ``kiosk hw`` and the lane view call ``status``/``health``. One lock serialises
them, so a status query never lands in the middle of a job. Every method that talks to the
printer blocks for at most about ``timeout_s`` per step; nothing does I/O at import, in
``__init__`` or in a property. python-escpos is imported on first use (its import configures
logging and writes a capabilities cache, see docs/hardware.md) and only in this module.

A job: render (a bad barcode or a missing raster font fails here, before any I/O), open the
transport if it is closed, ask the real-time status (DLE EOT 1 and 4, plus 2 and 3 when the
printer is offline) and refuse with the fault, send the bytes, ask the status again (paper
that ran out or a cover opened during the job fails the job; "paper near end" is kept in
``last_status`` for the attendant). File and dummy transports cannot be read: their status is
"unknown" and only write errors are seen.

Errors are ``DeviceError("<code>: <message>")`` with ``code`` one of ``offline``,
``paper_out``, ``cover_open``, ``not_found``, ``busy``, ``no_permission`` or ``no_font``.
After any transport error the transport is closed; the next call opens it again, so a printer
that was switched off, unplugged or re-enumerated (a new /dev/usb/lp* or USB address) works
again without restarting the kiosk. A status query on a connection that went stale reopens it
once on the spot. Job bytes are never re-sent automatically: a job that failed is reprinted
only when the caller asks (a failed job id may be printed again; a printed one may not).
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.errors import DeviceError
from kiosk.hw.escpos_render import (
    UNKNOWN_STATUS,
    PrinterStatus,
    RenderedJob,
    StyledLine,
    decode_status,
    drawer_kick,
    next_status_query,
    realtime_drawer_pulse,
    render_job,
    render_receipt,
    status_query,
    test_page_lines,
    text_lines,
)
from kiosk.hw.printer_profiles import TRANSPORTS, EscposSettings, PrinterProfile, get_profile
from kiosk.hw.raster import RasterFont
from kiosk.ports import Clock
from kiosk.receipt import Receipt

__all__ = ["TRANSPORTS", "EscposPrinter", "EscposSettings", "JobReport"]

logger = logging.getLogger(__name__)

_READABLE = ("usb", "serial", "network")
_REMEMBERED_JOBS = 10_000


@dataclass(frozen=True, slots=True)
class JobReport:
    """What the last successful job did (for the job row, the bench and diagnostics)."""

    job_id: str
    bytes_sent: int
    text_lines: int
    raster_lines: int
    replaced: int
    status_before: PrinterStatus
    status_after: PrinterStatus
    at: datetime
    seconds: float


class _NoReply(Exception):
    """The printer did not answer a status query in time."""


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wrapped (python-escpos raises inside ``except`` without ``from``)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 6:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def _classify(exc: BaseException, opening: bool) -> tuple[str, str]:
    """The fault code of a transport error (while opening, or while talking) and a hint."""
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    number = next((e.errno for e in chain if isinstance(e, OSError) and e.errno), None)
    if "NoBackendError" in names:
        return "not_found", "no libusb backend: install libusb-1.0-0"
    if any(isinstance(e, socket.gaierror) for e in chain):
        return "not_found", "the printer's host name does not resolve"
    if number in (errno.EBUSY, errno.EAGAIN):
        return "busy", "another program or the kernel's usblp driver holds the printer"
    if number in (errno.EACCES, errno.EPERM):
        return "no_permission", "see the udev rules in docs/hardware.md"
    if any(isinstance(e, TimeoutError) for e in chain):
        return "offline", "no answer in time"
    if opening and (
        number in (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EISDIR, errno.ENOTDIR)
        or number is None
    ):
        return "not_found", "check the cable, the power and the configured address"
    return "offline", "check the power, the cable and the paper"


class EscposPrinter:
    """The ``ReceiptPrinter`` port for ESC/POS printers (see the module docstring)."""

    def __init__(
        self, settings: EscposSettings, clock: Clock, profile: PrinterProfile | None = None
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.profile = profile or get_profile(settings.profile)
        self.columns = self.profile.columns
        self.last_status: PrinterStatus = UNKNOWN_STATUS
        self.last_job: JobReport | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._transport: Any = None
        self._identity: tuple[int, int, int] | None = None
        self._font: RasterFont | None = None
        self._printed: OrderedDict[str, None] = OrderedDict()
        readable = settings.transport in _READABLE
        self._status_enabled = readable and (
            self.profile.status if settings.status is None else settings.status
        )

    # -- the port (printer job thread) --------------------------------------------------------
    def print_receipt(self, job_id: str, receipt: Receipt) -> None:
        """Print the receipt document: bold total, barcode of ``receipt.barcode``, cut."""
        self._job(
            job_id,
            lambda: render_receipt(
                receipt, self.profile, self._font_source(), self.settings.barcode
            ),
        )

    def print_text(self, job_id: str, text: str, barcode: str) -> None:
        """Print pre-rendered ``text`` (lines wider than the paper are broken at the edge) and
        the barcode of ``barcode`` (none when empty)."""
        self._print_lines(job_id, text_lines(text, self.columns), barcode)

    def print_test_page(self, job_id: str) -> None:
        """Print the installer's test page (ruler, Chinese, bold, barcode of ``job_id``, cut)."""
        barcode = job_id if job_id.isascii() and job_id.isprintable() else ""
        self._print_lines(job_id, test_page_lines(self.profile), barcode)

    def _print_lines(self, job_id: str, lines: list[StyledLine], barcode: str) -> None:
        self._job(
            job_id,
            lambda: render_job(
                lines, barcode, self.profile, self._font_source(), self.settings.barcode
            ),
        )

    def kick_drawer(self, pin: int = 2, pulse_ms: int = 100) -> None:
        """Pulse the cash drawer on connector ``pin`` (2 or 5) for ``pulse_ms`` (20..500 ms),
        in the profile's ESC p units. Out of paper or cover open: the real-time pulse (DLE DC4)
        when the printer has it, else ``DeviceError`` (a buffered ESC p would open the drawer
        later, whenever the printer came back online)."""
        if pin not in (2, 5):
            raise ValueError(f"drawer kick pin must be 2 or 5, got {pin}")
        if not 20 <= pulse_ms <= 500:
            raise ValueError(f"drawer pulse {pulse_ms} ms is outside 20..500 ms")
        units = max(1, min(255, round(pulse_ms / self.profile.drawer_pulse_unit_ms)))
        with self._lock:
            status = self._status()
            fault = status.fault()
            if fault is None:
                data = drawer_kick(pin, units, units)
            elif self.profile.realtime_drawer and (status.cover_open or status.paper == "out"):
                data = realtime_drawer_pulse(pin, max(1, min(8, round(pulse_ms / 100))))
            else:
                raise DeviceError(f"{fault}; the drawer was not kicked")
            self._send(data, "drawer kick")
            logger.info(
                "printer %s kicked the drawer on pin %d for %d ms", self.name, pin, pulse_ms
            )

    def status(self) -> dict[str, Any]:
        """Ask the printer now: ``online`` (None: cannot be read over this transport),
        ``paper`` (ok, near_end, out, unknown), ``cover_open``, ``error``. A printer that
        cannot be reached is ``online: False`` with the paper and cover last known."""
        with self._lock:
            try:
                return self._status().as_dict()
            except DeviceError as exc:
                return {**self.last_status.as_dict(), "online": False, "error": str(exc)}

    def health(self) -> dict[str, Any]:
        """``{"name", "kind", "ok", "detail"}`` like the fakes; asks the printer (I/O)."""
        kind = f"escpos-{self.settings.transport}"
        with self._lock:
            try:
                status = self._status()
            except DeviceError as exc:
                return {"name": self.name, "kind": kind, "ok": False, "detail": str(exc)}
        fault = status.fault()
        if fault is not None:
            detail = fault
        elif not status.known:
            detail = "ready (status cannot be read over this transport)"
        else:
            detail = "paper near end" if status.paper == "near_end" else "ready"
        return {"name": self.name, "kind": kind, "ok": fault is None, "detail": detail}

    def close(self) -> None:
        """Close the transport (at shutdown); the next call opens it again."""
        with self._lock:
            self._drop()

    def dummy_output(self) -> bytes:
        """Everything sent so far through the ``dummy`` transport (tests, bench)."""
        if self.settings.transport != "dummy":
            raise RuntimeError(f"printer {self.name} is not a dummy printer")
        with self._lock:
            return b"" if self._transport is None else bytes(self._transport.output)

    # -- a job ----------------------------------------------------------------------------------
    def _job(self, job_id: str, render: Callable[[], RenderedJob]) -> None:
        if not job_id.strip():
            raise ValueError("print job id must not be empty")
        with self._lock:
            if job_id in self._printed:
                raise ValueError(f"job already printed: {job_id}")
            job = render()
            started = self._clock.monotonic()
            before = self._status()
            fault = before.fault()
            if fault is not None:
                raise DeviceError(f"{fault} (job {job_id} not sent)")
            self._send(job.data, f"job {job_id}")
            try:
                after = self._status(reconnect=False)
            except DeviceError as exc:
                raise DeviceError(f"{exc}; job {job_id} was sent and may be incomplete") from exc
            fault = after.fault()
            if fault is not None:
                raise DeviceError(f"{fault} during job {job_id}; the receipt may be incomplete")
            self._printed[job_id] = None
            while len(self._printed) > _REMEMBERED_JOBS:
                self._printed.popitem(last=False)
            self.last_job = JobReport(
                job_id,
                len(job.data),
                job.text_lines,
                job.raster_lines,
                job.replaced,
                before,
                after,
                self._clock.now(),
                self._clock.monotonic() - started,
            )
        logger.info(
            "printer %s printed job %s (%d bytes, %d raster lines)",
            self.name,
            job_id,
            len(job.data),
            job.raster_lines,
        )

    def _font_source(self) -> Callable[[], RasterFont] | None:
        if not self.settings.raster_font:
            return None

        def load() -> RasterFont:
            if self._font is None:
                self._font = RasterFont.load(
                    self.settings.raster_font,
                    self.settings.raster_font_index,
                    size=2 * self.profile.char_dots,
                )
            return self._font

        return load

    # -- the transport (called with the lock held) --------------------------------------------
    def _error(self, exc: BaseException, action: str, opening: bool = False) -> DeviceError:
        code, hint = _classify(exc, opening)
        detail = " ".join(str(exc).split()) or type(exc).__name__
        message = (
            f"{code}: printer {self.name} ({self.settings.where()}) {action} failed: "
            f"{detail} ({hint})"
        )
        logger.warning("%s", message)
        return DeviceError(message)

    def _open(self) -> Any:
        from escpos import printer as escpos_printer
        from escpos.exceptions import Error as EscposError

        s = self.settings
        path = s.file_path
        if s.transport == "file" and path.startswith("/dev/") and not os.path.exists(path):
            # python-escpos would create a plain file in /dev: refuse instead
            raise self._error(
                FileNotFoundError(errno.ENOENT, "no such device", path), "open", opening=True
            )
        builders: dict[str, Callable[[], Any]] = {
            "usb": lambda: escpos_printer.Usb(
                s.usb_vendor_id,
                s.usb_product_id,
                timeout=int(s.timeout_s * 1000),
                in_ep=s.usb_in_ep,
                out_ep=s.usb_out_ep,
            ),
            "serial": lambda: escpos_printer.Serial(
                devfile=s.serial_device,
                baudrate=s.serial_baud,
                timeout=s.timeout_s,
                dsrdtr=s.serial_dsrdtr,
            ),
            "network": lambda: escpos_printer.Network(s.host, s.port, timeout=s.timeout_s),
            "file": lambda: escpos_printer.File(devfile=path),
            "dummy": escpos_printer.Dummy,
        }
        transport = builders[s.transport]()
        try:
            if s.transport == "network":
                # Network.open() leaks its socket when connect fails: connect here instead
                transport.device = socket.create_connection((s.host, s.port), s.timeout_s)
            elif s.transport != "dummy":
                transport.open(raise_not_found=True)
        except (EscposError, OSError, ValueError, RuntimeError) as exc:
            raise self._error(exc, "open", opening=True) from exc
        if s.transport == "file":
            info = os.fstat(transport.device.fileno())
            self._identity = (info.st_dev, info.st_ino, info.st_rdev)
        logger.info("printer %s opened (%s)", self.name, s.where())
        return transport

    def _file_replaced(self) -> bool:
        """True when the file transport's path now names another file (re-enumerated)."""
        try:
            info = os.stat(self.settings.file_path)
        except OSError:
            return True
        return (info.st_dev, info.st_ino, info.st_rdev) != self._identity

    def _connected(self) -> Any:
        file = self.settings.transport == "file"
        if self._transport is not None and file and self._file_replaced():
            logger.info("printer %s: %s changed, reopening", self.name, self.settings.where())
            self._drop()
        if self._transport is None:
            self._transport = self._open()
        return self._transport

    def _drop(self) -> None:
        transport, self._transport = self._transport, None
        if transport is None:
            return
        try:
            transport.close()
        except (OSError, ValueError) as exc:
            logger.info("printer %s: closing the transport failed: %s", self.name, exc)

    def _send(self, data: bytes, action: str) -> None:
        transport = self._connected()
        try:
            transport._raw(data)
        except (OSError, ValueError, AssertionError, AttributeError) as exc:
            self._drop()
            raise self._error(exc, f"sending the {action}") from exc

    def _status(self, reconnect: bool = True) -> PrinterStatus:
        """Ask the printer (opening the transport if needed); on a connection that was open
        and went stale, reopen once and ask again. ``DeviceError`` when it cannot be asked."""
        was_open = self._transport is not None
        transport = self._connected()
        if not self._status_enabled:
            return UNKNOWN_STATUS
        try:
            status = self._ask(transport)
        except (OSError, _NoReply, ValueError) as exc:
            self._drop()
            if not (reconnect and was_open):
                raise self._error(exc, "status query") from exc
            logger.info("printer %s: connection went stale (%s), reopening", self.name, exc)
            transport = self._connected()
            try:
                status = self._ask(transport)
            except (OSError, _NoReply, ValueError) as again:
                self._drop()
                raise self._error(again, "status query") from again
        if status.paper == "near_end" != self.last_status.paper:
            logger.warning("printer %s: paper near end", self.name)
        elif status.fault() != self.last_status.fault():
            logger.info("printer %s status: %s", self.name, status.as_dict())
        self.last_status = status
        return status

    @staticmethod
    def _drain(sock: socket.socket) -> None:
        """Drop stray bytes (late or unasked status bytes); an empty read means the printer
        closed the connection (it was switched off or restarted)."""
        timeout = sock.gettimeout()
        sock.setblocking(False)  # with a timeout set, recv would wait for data first
        try:
            while True:
                try:
                    stray = sock.recv(64)
                except BlockingIOError:
                    return
                if not stray:
                    raise ConnectionResetError(errno.ECONNRESET, "the printer closed the link")
                logger.debug("dropped %d stray bytes from the printer", len(stray))
        finally:
            sock.settimeout(timeout)

    def _ask(self, transport: Any) -> PrinterStatus:
        kind = self.settings.transport
        device = transport.device
        if kind == "network":
            self._drain(device)
        elif kind == "serial":
            device.reset_input_buffer()
        replies: dict[int, int] = {}
        while (n := next_status_query(replies)) is not None:
            transport._raw(status_query(n))
            # serial: read(1) returns on the first byte; escpos's read(16) waits the timeout
            reply = bytes(device.read(1) if kind == "serial" else transport._read())
            if not reply:
                if kind == "network":
                    raise ConnectionResetError(errno.ECONNRESET, "the printer closed the link")
                raise _NoReply(f"no answer to DLE EOT {n} within {self.settings.timeout_s} s")
            replies[n] = reply[-1]
        return decode_status(replies)
