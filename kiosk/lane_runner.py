"""The lane thread: runs every lane command, device event and tick one at a time. Pure core.

Front ends (the Kivy UI thread, ``kiosk sim``'s reader) and device threads (a serial scanner's
reader, gpiozero's callbacks) never call the lane directly: they ``submit`` a command or ``post``
an action, and the lane thread runs it. Each batch of events, with the view state after it, is
handed to every listener ON THE LANE THREAD; a UI listener re-dispatches to its own thread
(Kivy: ``Clock.schedule_once``). Nothing slow ever runs on a UI thread this way: fsyncs, printer
jobs and relay pulses all happen here.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from kiosk.checkout import Event, Lane

logger = logging.getLogger(__name__)

Listener = Callable[[list[Event], Mapping[str, Any]], None]
Work = tuple[Callable[[], list[Event]], "Future[list[Event]]"]


class LaneRunner:
    """Owns the one thread that touches the lane."""

    def __init__(self, lane: Lane, tick_s: float = 0.5) -> None:
        if tick_s <= 0:
            raise ValueError(f"tick_s must be positive, got {tick_s}")
        self.lane = lane
        self.tick_s = tick_s
        self._queue: queue.Queue[Work | None] = queue.Queue()
        self._listeners: list[Listener] = []
        self._thread: threading.Thread | None = None

    def add_listener(self, listener: Listener) -> None:
        """``listener(events, view)`` after every command, action and tick that emitted events
        (a tick that emitted nothing is not reported)."""
        self._listeners.append(listener)

    # ------------------------------------------------------------------ from any thread
    def start(self) -> Future[list[Event]]:
        """Start the lane thread; it first restores the lane (the future holds those events)."""
        if self._thread is not None:
            raise RuntimeError("the lane runner is already started")
        restored: Future[list[Event]] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(restored,), name="lane", daemon=True
        )
        self._thread.start()
        return restored

    def submit(self, message: Mapping[str, Any]) -> Future[list[Event]]:
        """Queue one lane-protocol command; the future holds its events."""
        return self._put(lambda: self.lane.handle(message))

    def post(self, action: Callable[[Lane], None]) -> Future[list[Event]]:
        """Queue an internal action (a device event) run as ``lane.run_internal(action)``."""
        return self._put(lambda: self.lane.run_internal(action))

    def call(self, message: Mapping[str, Any], timeout: float | None = None) -> list[Event]:
        """``submit`` and wait for the events."""
        return self.submit(message).result(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the queued work, then stop the thread."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"the lane thread did not stop within {timeout} s")
        self._thread = None

    # ------------------------------------------------------------------ the lane thread
    def _put(self, work: Callable[[], list[Event]]) -> Future[list[Event]]:
        if self._thread is None:
            raise RuntimeError("the lane runner is not started")
        future: Future[list[Event]] = Future()
        self._queue.put((work, future))
        return future

    def _run(self, restored: Future[list[Event]]) -> None:
        try:
            events = self.lane.restore()
        except Exception as exc:
            logger.exception("lane restore failed")
            restored.set_exception(exc)
            return
        restored.set_result(events)
        self._publish(events)
        while True:
            try:
                item = self._queue.get(timeout=self.tick_s)
            except queue.Empty:
                self._publish(self.lane.tick(), quiet=True)
                continue
            if item is None:
                return
            work, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                events = work()
            except Exception as exc:  # a lane bug: the caller learns of it, the lane goes on
                logger.exception("lane command failed")
                future.set_exception(exc)
                continue
            future.set_result(events)
            self._publish(events)

    def _publish(self, events: list[Event], quiet: bool = False) -> None:
        if quiet and not events:
            return
        view = self.lane.view()
        for listener in self._listeners:
            try:
                listener(events, view)
            except Exception:
                logger.exception("lane listener failed")
