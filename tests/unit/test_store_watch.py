"""``make run``'s event listener (provisioning/store_watch.py): supervisord's event protocol,
crash loops and FATAL programs reported, a crash-looping program stopped, bad events named."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from provisioning.store_watch import (
    CrashWatch,
    EventError,
    Watcher,
    file_reporter,
    listen,
    main,
    read_failures,
)


def event(name: str, payload: str) -> str:
    header = f"ver:3.0 server:supervisor serial:1 pool:store_watch poolserial:1 eventname:{name}"
    return f"{header} len:{len(payload)}\n{payload}"


def exited(program: str, expected: int = 0) -> str:
    payload = (
        f"processname:{program} groupname:{program} from_state:RUNNING expected:{expected} pid:7"
    )
    return event("PROCESS_STATE_EXITED", payload)


class Recorder:
    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []
        self.stopped: list[str] = []
        self.now = 0.0

    def watcher(self, limit: int = 3, window_s: float = 60.0) -> Watcher:
        def stop(program: str) -> str:
            self.stopped.append(program)
            return "stopped"

        return Watcher(self.reports.append, stop, lambda: self.now, CrashWatch(limit, window_s))


def test_the_protocol_answers_each_event_and_ends_with_stdin() -> None:
    recorder = Recorder()
    stdin = io.StringIO(exited("kiosk") + exited("kiosk"))
    stdout = io.StringIO()
    listen(stdin, stdout, recorder.watcher())
    assert stdout.getvalue() == "READY\nRESULT 2\nOKREADY\nRESULT 2\nOKREADY\n"
    assert recorder.reports == []  # two exits are not a loop yet


def test_a_crash_loop_is_reported_once_and_the_program_stopped() -> None:
    recorder = Recorder()
    watcher = recorder.watcher(limit=3, window_s=60)
    text = "".join(exited("kiosk-sync") for _ in range(3)) + exited("kiosk-sync")
    listen(io.StringIO(text), io.StringIO(), watcher)
    assert recorder.stopped == ["kiosk-sync"]
    assert recorder.reports == [
        {
            "program": "kiosk-sync",
            "event": "crash_loop",
            "why": "kiosk-sync keeps failing: 3 unexpected exits within 60 s",
            "action": "stopped",
        }
    ]


def test_exits_outside_the_window_expected_exits_and_the_listener_itself_do_not_count() -> None:
    recorder = Recorder()
    watcher = recorder.watcher(limit=2, window_s=60)
    watcher.handle("PROCESS_STATE_EXITED", {"processname": "kiosk", "expected": "0"})
    recorder.now = 61.0  # the first exit has left the window
    watcher.handle("PROCESS_STATE_EXITED", {"processname": "kiosk", "expected": "0"})
    watcher.handle("PROCESS_STATE_EXITED", {"processname": "kiosk", "expected": "1"})  # a stop
    watcher.handle("PROCESS_STATE_EXITED", {"processname": "mosquitto", "expected": "0"})
    watcher.handle("PROCESS_STATE_FATAL", {"processname": "store_watch"})
    assert recorder.reports == [] and recorder.stopped == []
    watcher.handle("PROCESS_STATE_EXITED", {"processname": "kiosk", "expected": "0"})
    assert [r["program"] for r in recorder.reports] == ["kiosk"]


def test_fatal_is_reported_at_once_without_a_stop() -> None:
    recorder = Recorder()
    listen(
        io.StringIO(
            event("PROCESS_STATE_FATAL", "processname:kiosk groupname:kiosk from_state:BACKOFF")
        ),
        io.StringIO(),
        recorder.watcher(),
    )
    assert recorder.reports == [
        {
            "program": "kiosk",
            "event": "fatal",
            "why": "kiosk keeps failing: supervisord gave up starting it (FATAL)",
        }
    ]
    assert recorder.stopped == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ver:3.0 eventname:PROCESS_STATE_EXITED\n", "no payload length"),
        ("ver:3.0 eventname:X len:abc\n", "no payload length"),
        ("garbage\n", "not a key:value token: 'garbage'"),
    ],
)
def test_an_event_it_cannot_read_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(EventError, match=message):
        listen(io.StringIO(text), io.StringIO(), Recorder().watcher())


def test_reports_are_json_lines_and_a_line_on_stderr(tmp_path: Path) -> None:
    failures = tmp_path / "failing.jsonl"
    assert read_failures(failures) == []
    stderr = io.StringIO()
    report = file_reporter(failures, stderr)
    report({"program": "kiosk", "event": "fatal", "why": "kiosk keeps failing: FATAL"})
    report({"program": "kiosk-sync", "event": "crash_loop", "why": "w", "action": "stopped"})
    found = read_failures(failures)
    assert [f["program"] for f in found] == ["kiosk", "kiosk-sync"]
    assert all(f["at"].endswith("+00:00") for f in found)
    assert stderr.getvalue().splitlines() == [
        "store_watch: kiosk keeps failing: FATAL (reported)",
        "store_watch: w (stopped)",
    ]
    assert json.loads(failures.read_text().splitlines()[0])["event"] == "fatal"


def test_bad_arguments_are_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--failures", str(tmp_path / "f"), "--socket", "s", "--limit", "0"])
    assert "--limit must be 1 or more" in capsys.readouterr().err
