"""Kiosk-grade: the window refuses to close, Escape, Tab and the function keys do nothing (no
exit, no settings panel), and a kiosk that is not windowed is fullscreen, borderless, not
resizable, without a cursor and without Kivy's exit on Escape; a windowed one (development,
and these tests) keeps its cursor."""

from __future__ import annotations

from tests.ui.conftest import Scenario


def test_no_key_or_close_request_leaves_the_app_and_the_kiosk_window_is_locked_down(
    run_scenario: Scenario,
) -> None:
    result = run_scenario("tests.ui.kiosk_grade:kiosk_grade")["result"]
    assert result["close"] is True  # True: the request was handled, i.e. refused
    assert result["keys"] == {"escape": True, "tab": True, "f1": True, "f12": True}
    assert result["after"] == {
        "screen": "attract",
        "settings_panel": False,
        "windowed_cursor": True,
    }
    assert result["fullscreen_settings"] == {
        "fullscreen": "auto",
        "borderless": "1",
        "show_cursor": "0",
        "resizable": "0",
        "exit_on_escape": "0",
    }
