"""A command that crashed the lane reaches the screens as an ``error`` event with the newest
view the lane published, and the bridge never reads the lane itself (kiosk/ui/bridge.py):
its done callback may run on the Kivy thread."""

from __future__ import annotations

from tests.ui.conftest import Scenario


def test_a_crashed_command_is_an_error_with_the_last_published_view(
    run_scenario: Scenario,
) -> None:
    result = run_scenario("tests.ui.bridge:crashed_command")["result"]
    first, *errors = result["got"]
    assert first == [[{"event": "item_added"}], {"mode": "scanning"}]
    messages = [events[0]["message"] for events, _view in errors if events[0]["event"] == "error"]
    assert messages[:2] == ["lane bug", "second bug"]
    assert messages[-1] == "done before the callback"
    assert all(view == {"mode": "scanning"} for _events, view in errors)
    assert result["lane_read"] == 0
