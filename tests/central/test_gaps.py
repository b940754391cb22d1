"""central.gaps: a seq gap waits out the reorder timeout, then resends back off while it stays."""

from __future__ import annotations

from central.chain import Progress
from central.gaps import GapTracker


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tracker(clock: Clock) -> GapTracker:
    return GapTracker(
        reorder_timeout_s=2.0, resend_interval_s=5.0, resend_max_interval_s=12.0, clock=clock
    )


def test_gap_is_not_due_before_the_reorder_timeout() -> None:
    clock = Clock()
    gaps = tracker(clock)
    gaps.observe(Progress("k1", 3, 6))
    clock.now += 1.99
    assert gaps.due() == []
    clock.now += 0.01
    assert gaps.due() == [("k1", (4, 5))]


def test_gap_filled_within_the_timeout_is_never_due() -> None:
    clock = Clock()
    gaps = tracker(clock)
    gaps.observe(Progress("k1", 3, 6))
    gaps.observe(Progress("k1", 9, None))
    clock.now += 60
    assert gaps.due() == [] and gaps.open_gaps() == {}


def test_resends_back_off_up_to_the_maximum() -> None:
    clock = Clock()
    gaps = tracker(clock)
    gaps.observe(Progress("k1", 0, 2))
    asked = []
    for _ in range(60):
        clock.now += 0.5
        for kiosk, missing in gaps.due():
            asked.append((clock.now - 100.0, missing))
            gaps.requested(kiosk)
    assert [t for t, _ in asked] == [2.0, 7.0, 17.0, 29.0]  # +5, +10, then capped at +12
    assert {m for _, m in asked} == {(1, 1)}


def test_gap_that_narrows_keeps_its_timer() -> None:
    clock = Clock()
    gaps = tracker(clock)
    gaps.observe(Progress("k1", 3, 9))
    clock.now += 1.5
    gaps.observe(Progress("k1", 3, 6))  # seq 6..8 arrived: 4..5 still missing
    clock.now += 0.5
    assert gaps.due() == [("k1", (4, 5))]


def test_gap_that_moves_starts_a_new_timer() -> None:
    clock = Clock()
    gaps = tracker(clock)
    gaps.observe(Progress("k1", 3, 6))
    clock.now += 1.5
    gaps.observe(Progress("k1", 7, 9))  # 4..5 came, now 8 is missing
    clock.now += 1.0
    assert gaps.due() == []
    clock.now += 1.0
    assert gaps.due() == [("k1", (8, 8))]


def test_gaps_of_several_kiosks_are_independent() -> None:
    clock = Clock()
    gaps = tracker(clock)
    gaps.observe(Progress("k2", 0, 3))
    clock.now += 1
    gaps.observe(Progress("k1", 5, 7))
    clock.now += 1
    assert gaps.due() == [("k2", (1, 2))]
    clock.now += 1
    assert gaps.due() == [("k1", (6, 6)), ("k2", (1, 2))]
