"""Scenario for tests/ui/test_bridge.py: ``LaneBridge`` (kiosk/ui/bridge.py) in the running
app, with a stand-in runner whose lane must not be touched from the bridge."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from tests.ui.driver import Driver


class Runner:
    """A lane runner's surface: listeners, and commands whose futures the test settles."""

    def __init__(self) -> None:
        self.listener: Any = None
        self.futures: list[Future[list[Any]]] = []
        self.lane_read = 0
        self.fail_at_once = ""  # a command that fails before ``submit`` returns

    @property
    def lane(self) -> Any:
        self.lane_read += 1  # the bridge must not read the lane: it is not on the lane thread
        raise AssertionError("the bridge read the lane")

    def add_listener(self, listener: Any) -> None:
        self.listener = listener

    def submit(self, _message: Any) -> Future[list[Any]]:
        future: Future[list[Any]] = Future()
        if self.fail_at_once:
            future.set_exception(RuntimeError(self.fail_at_once))
        self.futures.append(future)
        return future


def crashed_command(d: Driver) -> None:
    from kiosk.ui.bridge import LaneBridge

    runner = Runner()
    got: list[Any] = []
    bridge = d.ui(lambda: LaneBridge(runner, lambda events, view: got.append([events, view])))
    runner.listener([{"event": "item_added"}], {"mode": "scanning"})  # as the lane thread does
    d.ui(lambda: bridge.send({"cmd": "scan", "code": "1"}))
    runner.futures[0].set_exception(RuntimeError("lane bug"))  # crashes while queued
    d.ui(lambda: bridge.send({"cmd": "scan", "code": "2"}))
    runner.futures[1].set_exception(RuntimeError("second bug"))
    d.wait(lambda: len(got) == 3, "the batch and both errors delivered")
    runner.fail_at_once = "done before the callback"  # so the callback runs on the Kivy thread
    d.ui(lambda: bridge.send({"cmd": "scan", "code": "3"}))
    d.wait(lambda: len(got) == 4, "the error of a command that had already failed")
    d.result.update(got=got, lane_read=runner.lane_read)
