"""The crash harness's shared vocabulary: ``Event`` (one JSON line of ``kiosk sim --json``) and
the two ways a harness step fails, ``LaneFault`` (the lane process misbehaved) and ``Violation``
(a check found a problem).

Raised and caught in whichever thread runs the harness (see tests/crash/harness.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Event = dict[str, Any]


class LaneFault(Exception):
    """The lane died, hung or wrote something that is not a JSON event. ``events`` holds what
    was read of the answer before that."""

    def __init__(self, message: str, events: Sequence[Event] = ()) -> None:
        super().__init__(message)
        self.events = list(events)


class Violation(Exception):
    """One or more checks failed; ``problems`` says which."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)
