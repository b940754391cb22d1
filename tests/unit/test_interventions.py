"""Interventions as data: clearing, durations, blocking, and their saved form."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.interventions import (
    NON_BLOCKING,
    REASONS,
    Intervention,
    Reason,
    blocking,
    open_of,
)


def item(reason: Reason = "age_check", n: int = 1, mono: float = 100.0) -> Intervention:
    return Intervention(
        intervention_id=f"i{n}",
        reason=reason,
        opened_at="2026-03-02T03:00:00Z",
        opened_mono=mono,
        line_no=n,
        detail={"age": 18},
    )


def test_reasons_list_every_reason_and_only_help_and_device_faults_do_not_block() -> None:
    assert get_args(Reason) == REASONS
    assert len(set(REASONS)) == len(REASONS)
    assert set(NON_BLOCKING) == {
        "help",
        "printer_fault",
        "paper_low",
        "print_uncertain",
        "drawer_fault",
        "drawer_left_open",
        "scanner_disconnected",
    }
    for reason in get_args(Reason):
        assert item(reason).blocking is (reason not in NON_BLOCKING)


def test_clearing_records_who_how_when_and_how_long() -> None:
    opened = item(mono=100.0)
    assert opened.is_open
    done = opened.cleared("E07", "approve", "2026-03-02T03:00:42Z", 142.25)
    assert not done.is_open
    assert (done.cleared_by, done.resolution, done.cleared_at, done.open_seconds) == (
        "E07",
        "approve",
        "2026-03-02T03:00:42Z",
        42.25,
    )
    assert opened.is_open  # the original is unchanged (frozen)


def test_a_duration_is_never_negative() -> None:
    done = item(mono=100.0).cleared("E07", "reject", "2026-03-02T03:00:00Z", 99.0)
    assert done.open_seconds == 0.0


def test_open_of_and_blocking_filter_the_open_ones() -> None:
    age = item("age_check", 1)
    help_ = item("help", 2)
    void_done = item("void", 3).cleared("E01", "approve", "t", 101.0)
    items = [age, help_, void_done]
    assert open_of(items) == [age, help_]
    assert open_of(items, "help") == [help_]
    assert open_of(items, "void") == []
    assert blocking(items) == [age]


def test_to_dict_and_from_dict_round_trip() -> None:
    opened = item()
    assert Intervention.from_dict(opened.to_dict()) == opened
    done = opened.cleared("E01", "approve", "t", 103.0)
    assert Intervention.from_dict(done.to_dict()) == done
    assert Intervention.from_dict({**done.to_dict(), "unknown_key": 1}) == done


def test_from_dict_without_a_required_field_fails_loudly() -> None:
    data = item().to_dict()
    del data["reason"]
    with pytest.raises(TypeError):
        Intervention.from_dict(data)


@given(
    opened=st.floats(0, 1e6, allow_nan=False),
    waited=st.floats(0, 1e5, allow_nan=False),
    reason=st.sampled_from(get_args(Reason)),
)
def test_open_seconds_is_the_monotonic_wait_rounded_to_milliseconds(
    opened: float, waited: float, reason: Reason
) -> None:
    done = item(reason, mono=opened).cleared("E01", "approve", "t", opened + waited)
    assert done.open_seconds is not None
    assert abs(done.open_seconds - waited) <= 0.0005 + 1e-6 * (opened + waited)


def test_duration_after_a_restart_uses_the_wall_clock() -> None:
    item = Intervention(
        "i-1", "help", opened_at="2026-11-27T09:00:00.000Z", opened_mono=5000.0, opened_boot=3
    )
    # Boot 4's monotonic clock restarted near zero: it says nothing about boot 3's.
    done = item.cleared("E01", "approve", "2026-11-27T09:02:30.500Z", mono_now=12.0, boot=4)
    assert done.open_seconds == 150.5


def test_duration_within_one_boot_uses_the_monotonic_clock() -> None:
    item = Intervention(
        "i-1", "help", opened_at="2026-11-27T09:00:00.000Z", opened_mono=100.0, opened_boot=3
    )
    # The wall clock jumped (NTP) but the monotonic clock did not.
    done = item.cleared("E01", "approve", "2026-11-27T10:00:00.000Z", mono_now=107.25, boot=3)
    assert done.open_seconds == 7.25
