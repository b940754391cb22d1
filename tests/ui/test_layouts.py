"""Every screen at the kiosk panels the issue names (800x480, 1024x600, 1280x800 and
1080x1920 portrait) in every touchscreen language: no touch target outside the window, none
under 9 mm (tests/ui/layouts.py says how 9 mm are measured), no caption, amount or total that
wraps or is cut, no text clipped by its box, no font face opened outside the type scale (to
draw or to measure: kiosk.ui.fonts), nothing Kivy logs as deprecated, and a screenshot of each to
artifacts/screenshots/sizes/<W>x<H>/<lang>/. One process per size and language, every screen
in it."""

from __future__ import annotations

import pytest

from kiosk.ui.fonts import faces
from kiosk.ui.i18n import LANGUAGES
from kiosk.ui.palette import PALETTES
from kiosk.ui.screens.registry import NAMES
from tests.ui.conftest import SHOTS, Scenario
from tests.ui.layouts import PLANTED

SIZES = ("800x480", "1024x600", "1280x800", "1080x1920")


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("size", SIZES)
def test_every_screen_fits_the_window_with_9_mm_touch_targets_and_whole_texts(
    run_scenario: Scenario, size: str, lang: str
) -> None:
    out = run_scenario("tests.ui.layouts:sizes", lang=lang, size=size, default_language=f'"{lang}"')
    result = out["result"]
    assert (result["window"], result["lang"]) == (size, lang)
    assert sorted(result["checked"]) == sorted(NAMES)
    assert result["problems"] == {}
    assert len(result["queue"]) == 2  # the attendant screen was checked with its queue
    opened = {(round(size), bold) for size, bold in out["font_faces"]}
    assert opened <= faces(out["fs"]), sorted(opened - faces(out["fs"]))  # measured ones too
    assert out["kivy_deprecations"] == []
    for name in NAMES:
        assert (SHOTS / "sizes" / size / lang / f"{name}.png").stat().st_size > 1000, name


def test_the_high_contrast_palette_on_every_screen(run_scenario: Scenario) -> None:
    """The same checks with ``[ui] high_contrast`` on (the palette's contrast ratios are in
    tests/unit/ui/test_palette.py); screenshots in sizes/1024x600-high-contrast/."""
    out = run_scenario(
        "tests.ui.layouts:sizes", lang="en", default_language='"en"', high_contrast="true"
    )
    result = out["result"]
    assert result["folder"] == "sizes/1024x600-high-contrast/en"
    assert result["clear_colour"] == PALETTES["high_contrast"]["bg"]
    assert sorted(result["checked"]) == sorted(NAMES)
    assert result["problems"] == {}
    for name in NAMES:
        assert (SHOTS / result["folder"] / f"{name}.png").stat().st_size > 1000, name


def test_the_text_check_finds_wrapped_cut_and_clipped_texts(run_scenario: Scenario) -> None:
    """The check of the test above, on widgets planted with each kind of fault."""
    found = run_scenario("tests.ui.layouts:planted_texts", size="1024x600")["result"]["found"]
    for _kind, kwargs, _size, says in PLANTED:
        lines = found[kwargs["text"]]
        if says:
            assert any(says in line for line in lines), (kwargs["text"], lines)
        else:
            assert lines == [], (kwargs["text"], lines)
