"""The reader-thread lifecycle shared by the scanner adapters (serial and HID).

A scanner owns one daemon thread that reads its device and delivers codes; ``start`` launches
it, ``stop`` waits for it (at most ``STOP_TIMEOUT_S``), ``health`` reports the last state the
thread set. A subclass provides ``name``, ``KIND``, ``_delivery``, ``_starting()`` (what health
says while it connects, run under the lock before the thread starts) and ``_loop()``. Any
exception escaping ``_loop`` is a visible fault (health not ok, ``disconnected`` reported),
never a silently dead scanner.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar, Final

from kiosk.errors import DeviceError
from kiosk.hw.framing import CodeDelivery

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S: Final = 2.0


class ReaderThread:
    KIND: ClassVar[str] = "scanner"
    _delivery: CodeDelivery

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ok = False
        self._detail = "not started"

    @property
    def name(self) -> str:
        raise NotImplementedError

    def _starting(self) -> str:
        raise NotImplementedError

    def _loop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start the reader thread; it connects (and reconnects) on its own."""
        with self._lock:
            if self._thread is not None:
                raise DeviceError(f"scanner {self.name} is already started")
            self._detail = self._starting()
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"scanner-{self.name}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the reader thread (it closes its device); waits for the thread to end."""
        with self._lock:
            thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join(STOP_TIMEOUT_S)
        if thread.is_alive():
            raise DeviceError(f"scanner {self.name}: reader thread did not stop within 2 s")
        with self._lock:
            self._thread = None
            self._ok = False
            self._detail = "stopped"

    def health(self) -> dict[str, Any]:
        with self._lock:
            return {"name": self.name, "kind": self.KIND, "ok": self._ok, "detail": self._detail}

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug here must show as a fault, not as a silent dead scanner
            logger.exception("scanner %s: reader thread failed", self.name)
            self._set_health(False, f"failed: reader thread stopped on {exc!r}")
            self._delivery.report("disconnected", f"reader thread stopped on {exc!r}")

    def _set_health(self, ok: bool, detail: str) -> None:
        with self._lock:
            self._ok = ok
            self._detail = detail
