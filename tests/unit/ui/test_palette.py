"""The palettes are readable: every text colour on what it is drawn on has a WCAG 2 contrast
ratio of at least 4.5:1 (normal) or 7:1 (high contrast) (kiosk/ui/palette.py)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kiosk.ui.palette import PALETTES

# (text colour, what it is drawn on), as the kv rules use them
PAIRS = (
    ("fg", "bg"),
    ("fg", "panel"),
    ("muted", "bg"),
    ("muted", "panel"),
    ("accent", "bg"),
    ("error", "bg"),
    ("error", "panel"),
    *(("button_fg", tone) for tone in ("button", "button_down", "secondary", "help", "error")),
    ("button_fg", "muted"),
    ("banner_fg", "banner"),
)
MINIMUM = {"normal": 4.5, "high_contrast": 7.0}


def luminance(rgba: Sequence[float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0..1 channels)."""

    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(v) for v in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Sequence[float], b: Sequence[float]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula() -> None:
    assert contrast([0, 0, 0, 1], [1, 1, 1, 1]) == pytest.approx(21.0)
    assert contrast([0.5, 0.5, 0.5, 1], [0.5, 0.5, 0.5, 1]) == pytest.approx(1.0)


@pytest.mark.parametrize("name", sorted(PALETTES))
def test_every_text_colour_is_readable_on_what_it_is_drawn_on(name: str) -> None:
    palette = PALETTES[name]
    assert set(palette) == set(PALETTES["normal"])  # the same roles in both
    low = {
        f"{text} on {ground}": round(contrast(palette[text], palette[ground]), 2)
        for text, ground in PAIRS
        if contrast(palette[text], palette[ground]) < MINIMUM[name]
    }
    assert low == {}
