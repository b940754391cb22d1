"""``kiosk.sync.agent.lower_priority``: ``[sync] nice`` raises the agent's CPU niceness, never
lowers it, and a refusal is logged, not fatal (os calls faked: the test process keeps its own
priority)."""

from __future__ import annotations

import logging
import os

import pytest

from kiosk.sync import agent


class FakeOs:
    def __init__(self, current: int, refuse: bool = False) -> None:
        self.current = current
        self.refuse = refuse
        self.increments: list[int] = []

    def getpriority(self, which: int, who: int) -> int:
        assert (which, who) == (os.PRIO_PROCESS, 0)
        return self.current

    def nice(self, increment: int) -> int:
        if self.refuse:
            raise PermissionError("Operation not permitted")
        self.increments.append(increment)
        self.current += increment
        return self.current


@pytest.mark.parametrize(
    ("current", "wanted", "after", "increments"),
    [(0, 10, 10, [10]), (5, 10, 10, [5]), (10, 10, 10, []), (15, 10, 15, []), (0, 0, 0, [])],
)
def test_the_niceness_is_raised_to_the_setting_and_never_lowered(
    monkeypatch: pytest.MonkeyPatch, current: int, wanted: int, after: int, increments: list[int]
) -> None:
    fake = FakeOs(current)
    monkeypatch.setattr(os, "getpriority", fake.getpriority)
    monkeypatch.setattr(os, "nice", fake.nice)
    assert agent.lower_priority(wanted) == after
    assert fake.increments == increments


def test_a_refused_change_is_logged_and_not_fatal(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeOs(0, refuse=True)
    monkeypatch.setattr(os, "getpriority", fake.getpriority)
    monkeypatch.setattr(os, "nice", fake.nice)
    with caplog.at_level(logging.WARNING, logger=agent.__name__):
        assert agent.lower_priority(10) == -1
    assert "CPU niceness not changed: Operation not permitted" in caplog.text
