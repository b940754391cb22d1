"""``kiosk sim --json`` in tests: a session run from a list of commands, its stdout read as
event lines, and those grouped by batch."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

import pytest

from kiosk.cli import main


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every stdout line as the JSON event object it must be."""
    events = []
    for line in text.splitlines():
        event = json.loads(line)  # every stdout line is one JSON object
        assert isinstance(event, dict), line
        assert isinstance(event.get("event"), str), line
        events.append(event)
    return events


def run_json_session(
    config: str,
    commands: Iterable[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> list[dict[str, Any]]:
    """``kiosk sim --json --config config`` fed ``commands`` on stdin; its events."""
    stdin = "".join(json.dumps(command) + "\n" for command in commands)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(["sim", "--json", "--config", config]) == 0
    return json_lines(capsys.readouterr().out)


def batches(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """After ``ready``: one list per batch (a command's answer or unsolicited device news),
    each ending with its view line."""
    ready = next(i for i, e in enumerate(events) if e["event"] == "ready")
    chunks: list[list[dict[str, Any]]] = [[]]
    for event in events[ready + 1 :]:
        chunks[-1].append(event)
        if event["event"] == "view":
            chunks.append([])
    assert chunks[-1] == []
    return chunks[:-1]
