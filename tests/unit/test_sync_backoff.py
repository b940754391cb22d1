"""Exponential backoff with equal jitter (kiosk.sync.backoff)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.sync.backoff import Backoff


@given(
    min_s=st.floats(0.01, 10),
    factor=st.floats(1, 100),
    seed=st.integers(0, 2**32),
    failures=st.integers(1, 80),
)
def test_each_delay_lies_in_the_upper_half_of_its_capped_doubling(
    min_s: float, factor: float, seed: int, failures: int
) -> None:
    backoff = Backoff(min_s, min_s * factor, random.Random(seed))
    for n in range(failures):
        cap = min(min_s * factor, min_s * 2**n)
        assert backoff.nominal() == pytest.approx(cap)
        delay = backoff.next_delay()
        assert cap / 2 <= delay <= cap


def test_reset_starts_again_from_the_minimum() -> None:
    backoff = Backoff(1.0, 60.0, random.Random(1))
    for _ in range(10):
        backoff.next_delay()
    assert backoff.nominal() == 60.0
    backoff.reset()
    assert backoff.nominal() == 1.0


def test_jitter_spreads_a_fleet() -> None:
    delays = {Backoff(1.0, 8.0, random.Random(seed)).next_delay() for seed in range(50)}
    assert len(delays) == 50


@pytest.mark.parametrize(("low", "high"), [(0, 1), (2, 1), (-1, 5)])
def test_bad_bounds_are_refused(low: float, high: float) -> None:
    with pytest.raises(ValueError, match="0 < min_s <= max_s"):
        Backoff(low, high)
