"""``Ledger``: what the lane acknowledged over one database's lifetime (the last view, the sales
reported complete, the last lines seen per sale) and the command that was in flight when it was
killed, with the part of its answer that was written.

Fed by the harness thread that talks to the lane (``CrashRun``, ``check_kill_point``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.crash.faults import Event


@dataclass
class Ledger:
    """What the lane acknowledged over one database's lifetime."""

    ack: Event | None = None  # the last view the lane answered with
    inflight: Event | None = None  # the command written when it was killed, answer not seen
    inflight_events: list[Event] = field(default_factory=list)  # what it wrote of that answer
    reported: dict[str, Event] = field(default_factory=dict)  # sale_id -> sale_completed
    baskets: dict[str, list[Event]] = field(default_factory=dict)  # sale_id -> last lines seen

    def note(self, events: Sequence[Event]) -> list[str]:
        """Record the sales among acknowledged events; a sale reported twice is a problem."""
        problems = []
        for event in events:
            if event["event"] == "sale_completed":
                earlier = self.reported.get(event["sale_id"])
                if earlier is not None:
                    problems.append(
                        f"sale {event['sale_id']} reported complete twice (seq {earlier['seq']} "
                        f"and {event['seq']})"
                    )
                self.reported[event["sale_id"]] = event
        return problems

    def killed(self, drained: Sequence[Event], at_start: bool = False) -> list[str]:
        """Take in what a killed lane had written: the in-flight command's answer when its view
        line is there, else the part of it that was written (or, ``at_start``, restore output)."""
        if (
            not at_start
            and self.inflight is not None
            and any(e["event"] == "view" for e in drained)
        ):
            return self.accept(drained)
        if self.inflight is not None and not at_start:
            self.inflight_events = list(drained)
        return self.note(drained)

    def accept(self, events: Sequence[Event]) -> list[str]:
        """A whole answer (ending with its view) was acknowledged."""
        problems = self.note(events)
        view = events[-1]
        self.ack, self.inflight, self.inflight_events = view, None, []
        if view["sale_id"]:
            self.baskets[view["sale_id"]] = view["lines"]
        return problems
