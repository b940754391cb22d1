"""Reading ``kiosk sim --json`` output in tests: its event lines grouped by batch."""

from __future__ import annotations

from typing import Any


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
