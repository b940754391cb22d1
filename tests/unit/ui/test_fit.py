"""``fit_font``: the size at which a caption or total fits its room on one line (the widths
come from a stand-in measure here; the UI layout tests measure with the kiosk font)."""

from __future__ import annotations

import pytest

from kiosk.ui.screens import fit


@pytest.fixture
def half_em_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every character 0.5 px wide at 1 px (bold 0.6)."""
    monkeypatch.setattr(fit, "_width_per_px", lambda line, bold: len(line) * (0.6 if bold else 0.5))


@pytest.mark.usefixtures("half_em_letters")
def test_a_text_that_fits_keeps_the_largest_size() -> None:
    assert fit.fit_font("Pay", 200, 40, 20) == 40


@pytest.mark.usefixtures("half_em_letters")
def test_a_text_too_long_gets_the_size_at_which_it_fits_with_a_margin() -> None:
    size = fit.fit_font("Call attendant", 200, 40, 10)  # 14 letters: 7 em
    assert size == 26  # 200 * 0.97 / 7 = 27.7, down to a whole step (one font face each)
    assert size * 7 <= 200


@pytest.mark.usefixtures("half_em_letters")
def test_bold_and_the_widest_line_count() -> None:
    assert fit.fit_font("ab\nabcdefghij", 100, 40, 5, bold=True) == 16  # 97 / 6 = 16.2


@pytest.mark.usefixtures("half_em_letters")
def test_never_under_the_smallest_size() -> None:
    assert fit.fit_font("Tap again to cancel the sale", 100, 40, 20) == 20


def test_nothing_to_fit_or_no_room_yet_is_the_largest_size() -> None:
    assert fit.fit_font("", 100, 40, 20) == 40
    assert fit.fit_font(" \n ", 100, 40, 20) == 40
    assert fit.fit_font("Pay", 0, 40, 20) == 40  # before the first layout


@pytest.mark.parametrize(("smallest", "largest"), [(30, 20), (0, 20), (-1, 20)])
def test_sizes_the_wrong_way_round_or_not_positive_are_refused(
    smallest: float, largest: float
) -> None:
    with pytest.raises(ValueError, match=f"smallest {smallest}, largest {largest}"):
        fit.fit_font("Pay", 100, largest, smallest)


@pytest.mark.usefixtures("half_em_letters")
def test_the_width_a_caption_needs_is_its_widest_line_with_the_margin() -> None:
    assert fit.caption_width("ab\nabcd", 30, bold=True) == pytest.approx(30 * 2.4 / 0.97)
    assert fit.fit_font("abcd", fit.caption_width("abcd", 30), 30, 10) == pytest.approx(30)
    assert fit.caption_width(" \n", 30) == 0


@pytest.mark.usefixtures("half_em_letters")
def test_sizes_in_between_come_in_whole_steps_so_few_font_faces_are_made() -> None:
    sizes = {fit.fit_font("Call attendant", room, 40, 10) for room in range(150, 280)}
    assert all(size == 40 or size % fit.SIZE_STEP_PX == 0 for size in sizes)
    assert len(sizes) <= 10
