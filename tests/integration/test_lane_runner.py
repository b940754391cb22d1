"""The lane thread: commands from any thread, device actions, ticks and listeners."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kiosk.checkout import Event, Lane
from kiosk.lane_runner import LaneRunner

from .lane_kit import make_kiosk, names

WATER = "6921168509256"


class Recorder:
    def __init__(self) -> None:
        self.batches: list[tuple[list[Event], Mapping[str, Any], str]] = []
        self.changed = threading.Condition()

    def __call__(self, events: list[Event], view: Mapping[str, Any]) -> None:
        with self.changed:
            self.batches.append((events, view, threading.current_thread().name))
            self.changed.notify_all()

    def wait_for(self, event: str, timeout: float = 5.0) -> Event:
        with self.changed:
            found = self.changed.wait_for(
                lambda: any(e["event"] == event for b in self.batches for e in b[0]), timeout
            )
        assert found, f"no {event} event within {timeout} s"
        return next(e for b in self.batches for e in b[0] if e["event"] == event)


def test_commands_from_other_threads_run_on_the_lane_thread_in_order(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    runner = LaneRunner(kit.kiosk.lane, tick_s=0.05)
    recorder = Recorder()
    runner.add_listener(recorder)
    runner.start().result(5)
    try:
        futures = [runner.submit({"cmd": "scan", "code": WATER}) for _ in range(5)]
        results = [f.result(5) for f in futures]
        assert [names(r) for r in results] == [["sale_started", "item_added"]] + [
            ["item_added"]
        ] * 4
        view = kit.kiosk.lane.view()
        assert view["lines"][0]["qty"] == "5"
        assert {thread for _, _, thread in recorder.batches} == {"lane"}
        last_events, last_view, _ = recorder.batches[-1]
        assert names(last_events) == ["item_added"]
        assert last_view["lines"][0]["qty"] == "5"
    finally:
        runner.stop()


def test_posted_device_action_is_committed_like_a_command(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    runner = LaneRunner(kit.kiosk.lane, tick_s=0.05)
    runner.start().result(5)
    try:

        def printer_jammed(lane: Lane) -> None:
            lane.open_intervention("printer_fault", message="cover_open: close the cover")

        events = runner.post(printer_jammed).result(5)
        assert names(events) == ["intervention_opened"]
    finally:
        runner.stop()
    assert kit.snapshot()["interventions"][0]["reason"] == "printer_fault"


def test_ticks_run_the_pollers_and_report_only_what_they_emit(tmp_path: Path) -> None:
    polls = threading.Event()
    kit = make_kiosk(tmp_path)
    calls: list[str] = []

    def poller() -> None:
        calls.append(threading.current_thread().name)
        polls.set()

    lane = kit.kiosk.lane
    lane.deps = lane.deps.__class__(**{**lane.deps.__dict__, "pollers": (poller,)})
    recorder = Recorder()
    runner = LaneRunner(lane, tick_s=0.02)
    runner.add_listener(recorder)
    runner.start().result(5)
    try:
        assert polls.wait(5)
    finally:
        runner.stop()
    assert set(calls) == {"lane"}
    # The first batch is the restore (the initial view, even with no events); quiet ticks
    # after it are not reported.
    assert all(events for events, _, _ in recorder.batches[1:])


def test_a_failing_listener_does_not_stop_the_lane(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    runner = LaneRunner(kit.kiosk.lane, tick_s=0.05)

    def broken(events: list[Event], view: Mapping[str, Any]) -> None:
        raise RuntimeError("display gone")

    runner.add_listener(broken)
    runner.start().result(5)
    try:
        first = runner.call({"cmd": "scan", "code": WATER}, timeout=5)
        assert names(first) == ["sale_started", "item_added"]
        assert names(runner.call({"cmd": "scan", "code": WATER}, timeout=5)) == ["item_added"]
    finally:
        runner.stop()


def test_runner_refuses_work_before_start_and_a_bad_tick() -> None:
    with pytest.raises(ValueError, match="tick_s must be positive"):
        LaneRunner(object(), tick_s=0)  # type: ignore[arg-type]
