"""The Kivy thread's side of the lane runner (``kiosk.lane_runner.LaneRunner``).

``LaneBridge.send(message)`` queues a lane-protocol command and returns at once: the lane
thread runs it (fsyncs, printing, payment terminals all happen there). What the lane answers,
``(events, view)``, reaches the Kivy thread through ``Clock.schedule_once`` in the order the
lane published it, and is handed to ``on_lane(events, view)`` there. A command that crashed
the lane (a bug: the runner logs it) is reported to ``on_lane`` as an ``error`` event so the
screen can say something instead of waiting forever.

Threads: ``send`` on the Kivy thread; ``_from_lane`` on the lane thread; ``on_lane`` on the
Kivy thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from kivy.clock import Clock

from kiosk.checkout import Event
from kiosk.lane_runner import LaneRunner

logger = logging.getLogger(__name__)

OnLane = Callable[[list[Event], Mapping[str, Any]], None]


class LaneBridge:
    """Sends commands to the lane thread; delivers its answers on the Kivy thread."""

    def __init__(self, runner: LaneRunner, on_lane: OnLane) -> None:
        self.runner = runner
        self.on_lane = on_lane
        # The newest view the lane published (set on the lane thread): what an error is shown
        # with. Never read from the lane here: ``_check`` may run on the Kivy thread.
        self._last_view: Mapping[str, Any] = {}
        runner.add_listener(self._from_lane)

    def send(self, message: Mapping[str, Any]) -> None:
        """Queue ``message`` for the lane; never blocks (Kivy thread)."""
        logger.debug("ui -> lane: %s", message.get("cmd"))
        future = self.runner.submit(dict(message))
        future.add_done_callback(self._check)

    def _check(self, future: Future[list[Event]]) -> None:
        """On the lane thread, or on the Kivy thread when the command had already finished."""
        exc = future.exception()
        if exc is None:
            return
        event: Event = {"event": "error", "code": "internal", "message": str(exc)}
        view = self._last_view

        def deliver(_dt: float) -> None:
            self.on_lane([event], view)

        Clock.schedule_once(deliver, 0)

    def _from_lane(self, events: list[Event], view: Mapping[str, Any]) -> None:
        """The lane thread published a batch: hand it to the Kivy thread."""
        batch, snapshot = list(events), view
        self._last_view = view

        def deliver(_dt: float) -> None:
            self.on_lane(batch, snapshot)

        Clock.schedule_once(deliver, 0)
