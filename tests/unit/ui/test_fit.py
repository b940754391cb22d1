"""``fit_font``: the largest of the given type-scale sizes at which a caption or total fits
its room on one line (the widths come from a stand-in measure here; the UI layout tests
measure with the kiosk font)."""

from __future__ import annotations

import pytest

from kiosk.ui.fonts import faces, type_scale
from kiosk.ui.screens import fit


@pytest.fixture
def half_em_letters(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float, bool]]:
    """Every character 0.5 em wide (bold 0.6); the measurements asked for are recorded."""
    asked: list[tuple[str, float, bool]] = []

    def width(line: str, font_size: float, bold: bool) -> float:
        asked.append((line, font_size, bold))
        return len(line) * font_size * (0.6 if bold else 0.5)

    monkeypatch.setattr(fit, "_line_width", width)
    return asked


@pytest.mark.usefixtures("half_em_letters")
def test_a_text_that_fits_keeps_the_largest_size() -> None:
    assert fit.fit_font("Pay", 200, (40, 32, 20)) == 40


def test_a_text_too_long_gets_the_next_size_at_which_it_fits_with_a_margin(
    half_em_letters: list[tuple[str, float, bool]],
) -> None:
    size = fit.fit_font("Call attendant", 200, (40, 32, 26, 20))  # 14 letters: 7 em
    assert size == 26  # 7 em at 26 px = 182 <= 200 * 0.97; at 32 px 224 does not fit
    assert [asked[1] for asked in half_em_letters] == [40, 32, 26]  # measured where drawn


@pytest.mark.usefixtures("half_em_letters")
def test_bold_and_the_widest_line_count() -> None:
    assert fit.fit_font("ab\nabcdefghij", 100, (40, 20, 16), bold=True) == 16  # 6 em * 16 = 96
    assert fit.fit_font("ab\nabcdefghij", 100, (40, 20, 16)) == 16  # 5 em * 20 = 100 > 97


@pytest.mark.usefixtures("half_em_letters")
def test_a_text_that_fits_at_no_size_gets_the_smallest() -> None:
    assert fit.fit_font("Tap again to cancel the sale", 100, (40, 20)) == 20


def test_nothing_to_fit_or_no_room_yet_is_the_largest_size() -> None:
    assert fit.fit_font("", 100, (40, 20)) == 40
    assert fit.fit_font(" \n ", 100, (40, 20)) == 40
    assert fit.fit_font("Pay", 0, (40, 20)) == 40  # before the first layout


@pytest.mark.parametrize("sizes", [(), (20, 0), (-1,)])
def test_no_sizes_or_sizes_not_positive_are_refused(sizes: tuple[float, ...]) -> None:
    first = sizes[0] if sizes else ""
    with pytest.raises(ValueError, match=rf"one or more positive sizes, got \({first}"):
        fit.fit_font("Pay", 100, sizes)


@pytest.mark.usefixtures("half_em_letters")
def test_sizes_in_any_order_are_tried_largest_first() -> None:
    # while the window resizes, kv sees the scale's sizes change one at a time
    assert fit.fit_font("Call attendant", 200, (20, 40, 26, 32)) == 26
    assert fit.fit_font("", 200, (20, 40)) == 40


@pytest.mark.usefixtures("half_em_letters")
def test_the_width_a_caption_needs_is_its_widest_line_with_the_margin() -> None:
    assert fit.caption_width("ab\nabcd", 30, bold=True) == pytest.approx(30 * 2.4 / 0.97)
    assert fit.fit_font("abcd", fit.caption_width("abcd", 30), (40, 30, 10)) == 30
    assert fit.caption_width(" \n", 30) == 0


@pytest.mark.usefixtures("half_em_letters")
def test_only_the_sizes_given_come_out_so_few_font_faces_are_made() -> None:
    scale = type_scale(33.3)
    given = (scale["title"], scale["large"], scale["body"])
    sizes = {fit.fit_font("Call attendant", room, given) for room in range(100, 600)}
    assert sizes == set(given)


def test_the_type_scale_is_five_whole_pixel_sizes_growing_from_small_to_display() -> None:
    scale = type_scale(33.3)
    assert list(scale) == ["small", "body", "large", "title", "display"]
    assert list(scale.values()) == [27, 33, 40, 53, 80]
    assert type_scale(20) == {"small": 16, "body": 20, "large": 24, "title": 32, "display": 48}
    with pytest.raises(ValueError, match="must be positive, got 0"):
        type_scale(0)


def test_bold_is_a_face_only_at_the_body_title_and_display_sizes() -> None:
    regular, bold = False, True
    assert faces(33.3) == {
        (27, regular),
        (33, regular),
        (33, bold),
        (40, regular),
        (53, bold),
        (80, bold),
    }
