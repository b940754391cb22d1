"""Every screen at the smallest kiosk panels and in portrait: no touch target outside the
window, none under 9 mm (tests/ui/layouts.py says how 9 mm are measured), and a screenshot of
each to artifacts/screenshots/sizes/<W>x<H>/. One process per size, every screen in it."""

from __future__ import annotations

import pytest

from kiosk.ui.screens.registry import NAMES
from tests.ui.conftest import SHOTS, Scenario


@pytest.mark.parametrize("size", ["800x480", "1024x600", "1080x1920"])
def test_every_screen_fits_the_window_with_9_mm_touch_targets(
    run_scenario: Scenario, size: str
) -> None:
    result = run_scenario("tests.ui.layouts:sizes", size=size)["result"]
    assert result["window"] == size
    assert sorted(result["checked"]) == sorted(NAMES)
    assert result["problems"] == {}
    for name in NAMES:
        assert (SHOTS / "sizes" / size / f"{name}.png").stat().st_size > 1000, name
