"""kiosk.lane_idle: an abandoned basket is prompted, then suspended for an attendant, never
dropped; a payment in progress is never suspended; a suspended sale survives a restart.

The lane runs on the demo kiosk (``tests.integration.lane_kit``: kiosk.db in tmp_path, fake
devices) with its ``FakeClock``: the timer moves only when the test advances the clock and ticks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import parse_config
from kiosk.errors import ConfigError
from tests.integration.lane_kit import (
    BEER,
    MILK,
    WALLET_CODE,
    WATER,
    LaneKit,
    error_of,
    make_kiosk,
    names,
    only,
)

PROMPT_S = 60.0
SUSPEND_S = 30.0


@pytest.fixture
def kit(tmp_path: Path) -> LaneKit:
    return make_kiosk(tmp_path, kiosk={"idle_prompt_s": PROMPT_S, "idle_suspend_s": SUSPEND_S})


def wait(kit: LaneKit, seconds: float) -> list[dict[str, object]]:
    """Let ``seconds`` pass and run the lane's tick; its events but the device list's."""
    kit.clock.advance(seconds)
    return [e for e in kit.tick() if e["event"] != "devices_changed"]


def abandon(kit: LaneKit) -> list[dict[str, object]]:
    """A basket with a water, left alone until the sale is suspended."""
    kit.cmd("scan", code=WATER)
    assert names(wait(kit, PROMPT_S)) == ["idle_prompt"]
    return wait(kit, SUSPEND_S)


def abandoned(kit: LaneKit) -> list[dict[str, object]]:
    return [i for i in kit.view()["interventions"] if i["reason"] == "abandoned"]


# ------------------------------------------------------------------------------ the prompt
def test_a_basket_without_input_is_prompted_after_idle_prompt_s(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    assert kit.view()["idle"] == ""
    assert wait(kit, PROMPT_S - 0.5) == []
    events = wait(kit, 0.5)
    assert events == [{"event": "idle_prompt", "suspend_in_s": SUSPEND_S}]
    assert kit.view()["idle"] == "prompt"
    assert kit.snapshot()["idle"] == "prompt"
    assert wait(kit, 1) == []  # prompted once


def test_an_empty_sale_or_an_idle_lane_is_never_prompted(kit: LaneKit) -> None:
    assert wait(kit, 3600) == []
    kit.cmd("start")
    assert wait(kit, 3600) == []
    assert kit.view()["idle"] == ""


def test_still_here_answers_the_prompt_and_restarts_the_timer(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    wait(kit, PROMPT_S)
    assert names(kit.cmd("still_here")) == ["idle_cleared"]
    assert kit.view()["idle"] == ""
    assert wait(kit, PROMPT_S - 1) == []
    assert names(wait(kit, 1)) == ["idle_prompt"]


def test_any_customer_command_answers_the_prompt(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    wait(kit, PROMPT_S)
    events = kit.cmd("scan", code=MILK)
    assert names(events) == ["idle_cleared", "item_added"]
    assert kit.view()["idle"] == ""


def test_view_is_not_input(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    kit.clock.advance(PROMPT_S - 1)
    kit.cmd("view")
    assert names(wait(kit, 1)) == ["idle_prompt"]
    assert kit.cmd("view") == []
    assert kit.view()["idle"] == "prompt"


def test_still_here_without_a_prompt_changes_nothing(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    assert kit.cmd("still_here") == []
    assert kit.view()["idle"] == ""


# ------------------------------------------------------------------------------ suspension
def test_an_unanswered_prompt_suspends_the_sale_for_an_attendant(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    sale_id = kit.view()["sale_id"]
    wait(kit, PROMPT_S)
    assert wait(kit, SUSPEND_S - 0.5) == []
    events = wait(kit, 0.5)
    assert names(events) == ["sale_suspended", "intervention_opened"]
    assert only(events, "sale_suspended") == {
        "event": "sale_suspended",
        "sale_id": sale_id,
        "lines": 2,
        "idle_s": PROMPT_S + SUSPEND_S,
    }
    opened = only(events, "intervention_opened")
    assert opened["reason"] == "abandoned"
    assert opened["detail"] == {
        "sale_id": sale_id,
        "lines": 2,
        "last_input_at": "2026-03-02T03:00:00.000Z",
    }
    view = kit.view()
    assert (view["idle"], view["mode"], view["sale_id"], view["blocked"]) == (
        "suspended",
        "scanning",
        sale_id,
        True,
    )
    assert [line["sku"] for line in view["lines"]] == ["100001", "100006"]
    assert kit.kiosk.light.state == "intervention"
    # Kept in kiosk.db exactly as it was.
    snapshot = kit.snapshot()
    assert snapshot["idle"] == "suspended" and snapshot["sale_id"] == sale_id
    assert len(snapshot["basket"]["lines"]) == 2
    assert wait(kit, 3600) == []  # suspended once


def test_a_suspended_sale_refuses_the_customer_until_an_attendant_acts(kit: LaneKit) -> None:
    abandon(kit)
    for command, args in (("scan", {"code": MILK}), ("still_here", {})):
        error = error_of(kit.cmd(command, **args))
        assert error["code"] == "wrong_state"
        assert "suspended" in str(error["message"])
    assert error_of(kit.cmd("pay", method="card"))["code"] == "blocked"
    assert kit.view()["idle"] == "suspended"
    assert names(kit.cmd("help")) == ["intervention_opened"]  # calling for help still works


def test_the_attendant_resumes_the_sale_for_the_customer(kit: LaneKit) -> None:
    abandon(kit)
    sale_id = kit.view()["sale_id"]
    assert error_of(kit.cmd("clear", intervention="abandoned", resolution="resume"))["code"] == (
        "not_allowed"
    )
    kit.login()
    error = error_of(kit.cmd("clear", intervention="abandoned", resolution="approve"))
    assert error["message"] == "clear.resolution of an abandoned sale must be 'resume' or 'cancel'"
    events = kit.cmd("clear", intervention="abandoned", resolution="resume")
    assert names(events) == ["intervention_cleared", "sale_resumed"]
    assert only(events, "intervention_cleared")["resolution"] == "resume"
    assert only(events, "sale_resumed") == {
        "event": "sale_resumed",
        "sale_id": sale_id,
        "staff": "E01",
    }
    assert (kit.view()["idle"], abandoned(kit)) == ("", [])
    (row,) = kit.audit("intervention_cleared")
    assert (row["reason"], row["resolution"], row["staff"]) == ("abandoned", "resume", "E01")
    kit.logout()
    assert names(kit.cmd("scan", code=MILK)) == ["item_added"]
    assert names(kit.cmd("pay", method="card"))[-2:] == ["sale_completed", "receipt_printed"]


def test_the_attendant_cancels_an_abandoned_sale_through_cancel_sale(kit: LaneKit) -> None:
    abandon(kit)
    sale_id = kit.view()["sale_id"]
    kit.login()
    events = kit.cmd("clear", intervention="abandoned", resolution="cancel")
    assert names(events) == ["intervention_cleared", "sale_cancelled"]
    assert only(events, "intervention_cleared")["resolution"] == "cancel"
    view = kit.view()
    assert (view["mode"], view["sale_id"], view["lines"], view["idle"]) == ("idle", None, [], "")
    assert kit.audit("sale_cancelled") == [{"sale_id": sale_id, "staff": "E01", "lines": 1}]
    assert kit.committed()["sales"] == 0


def test_other_interventions_are_still_cleared_as_before(kit: LaneKit) -> None:
    kit.cmd("scan", code=BEER)
    kit.login()
    events = kit.cmd("clear", intervention="age_check", resolution="approve")
    assert names(events) == ["intervention_cleared"]
    error = error_of(kit.cmd("clear", intervention="abandoned", resolution="resume"))
    assert error["code"] == "not_found"


# ------------------------------------------------------------------------------ payments
def test_a_wallet_payment_waiting_for_its_code_is_never_suspended(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    assert names(kit.cmd("pay", method="wallet")) == ["payment_started", "wallet_code_needed"]
    assert wait(kit, 3600) == []
    assert wait(kit, 3600) == []
    assert kit.view()["idle"] == ""
    assert names(kit.cmd("scan", code=WALLET_CODE))[-2:] == ["sale_completed", "receipt_printed"]


def test_a_payment_with_an_unknown_outcome_is_never_suspended(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    kit.kiosk.terminal.disconnect()
    events = kit.cmd("pay", method="card")
    assert "payment_unknown" in names(events)
    assert wait(kit, 3600) == []
    assert kit.view()["idle"] == ""


def test_a_cash_payment_waiting_for_the_attendant_is_never_suspended(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    kit.cmd("pay", method="cash")
    assert kit.view()["mode"] == "paying"
    assert wait(kit, 3600) == []


def test_a_prompt_is_dropped_when_the_sale_leaves_scanning(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    wait(kit, PROMPT_S)
    kit.lane.state.awaiting_wallet = True  # as if a payment began without a command
    assert names(wait(kit, 1)) == ["idle_cleared"]
    assert kit.view()["idle"] == ""


# ------------------------------------------------------------------------------ restarts
def test_a_suspended_sale_is_still_suspended_after_a_crash(kit: LaneKit) -> None:
    abandon(kit)
    sale_id = kit.view()["sale_id"]
    (before,) = abandoned(kit)
    restored = kit.restart()
    assert names(restored) == ["basket_restored"]
    view = kit.view()
    assert (view["idle"], view["sale_id"], view["blocked"]) == ("suspended", sale_id, True)
    assert abandoned(kit) == [before]
    assert wait(kit, 3600) == []  # not suspended a second time
    kit.login()
    assert names(kit.cmd("clear", intervention="abandoned", resolution="resume")) == [
        "intervention_cleared",
        "sale_resumed",
    ]


def test_a_prompt_restored_after_a_crash_counts_down_again(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    wait(kit, PROMPT_S + SUSPEND_S - 1)
    kit.restart()
    assert kit.view()["idle"] == "prompt"
    assert wait(kit, SUSPEND_S - 1) == []
    assert names(wait(kit, 1)) == ["sale_suspended", "intervention_opened"]


def test_the_timer_starts_again_after_a_restart(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    wait(kit, PROMPT_S - 1)
    kit.restart()
    assert wait(kit, PROMPT_S - 1) == []
    assert names(wait(kit, 1)) == ["idle_prompt"]


def test_a_suspended_snapshot_without_its_intervention_gets_one_at_start(kit: LaneKit) -> None:
    kit.cmd("scan", code=WATER)
    kit.lane.state.idle = "suspended"  # a snapshot that lost its intervention
    kit.lane.save_now()
    restored = kit.restart()
    assert names(restored) == ["basket_restored", "intervention_opened"]
    assert only(restored, "intervention_opened")["reason"] == "abandoned"
    assert kit.snapshot()["interventions"][0]["reason"] == "abandoned"


# ------------------------------------------------------------------------------ config
def test_idle_settings_default_to_a_minute_and_half_a_minute() -> None:
    config = parse_config("")
    assert (config.kiosk.idle_prompt_s, config.kiosk.idle_suspend_s) == (60.0, 30.0)
    config = parse_config("[kiosk]\nidle_prompt_s = 90\nidle_suspend_s = 12.5\n")
    assert (config.kiosk.idle_prompt_s, config.kiosk.idle_suspend_s) == (90.0, 12.5)


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        (
            "idle_prompt_s = -1",
            "kiosk.idle_prompt_s",
            "-1.0 must be more than 0 and less than 3600",
        ),
        ("idle_prompt_s = 0", "kiosk.idle_prompt_s", "0.0 must be more than 0 and less than 3600"),
        ("idle_prompt_s = 3600", "kiosk.idle_prompt_s", "3600.0 must be more than 0"),
        ("idle_suspend_s = -5", "kiosk.idle_suspend_s", "-5.0 must be more than 0"),
        ("idle_suspend_s = 7200", "kiosk.idle_suspend_s", "7200.0 must be more than 0"),
        ('idle_prompt_s = "60"', "kiosk.idle_prompt_s", "must be float, got '60'"),
        ("idle_suspend_s = true", "kiosk.idle_suspend_s", "must be float, got a boolean"),
    ],
)
def test_bad_idle_settings_are_refused_naming_the_key(toml: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"[kiosk]\n{toml}\n")
    assert caught.value.key == key
    assert problem in caught.value.problem
