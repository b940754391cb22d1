"""``fit_font``: the largest of a few type-scale sizes at which a text fits its width on one
line, and ``caption_width``: the width a text needs on one line, for kv rules.

Captions, amounts and totals must show whole, on one line, at every supported window size
(tests/ui/layouts.py checks it). Where a layout cannot give such a text the room it needs at
its normal size in every language (a narrow panel, portrait), its rule asks for
``fit_font(text, room, (app.font_large, app.font_body), bold)`` instead of a fixed size: the
first size, largest first, at which the text fits, else the last one (a text that does not fit
even then wraps, and the layout test says so). Only the type scale's sizes are given
(``kiosk.ui.fonts.type_scale``): every distinct font size is a FreeType face of its own in
memory (about 2.5 MiB each for Noto Sans CJK), so sizes fitted freely would grow the kiosk with
every caption. Texts are measured at the size and weight they would be drawn at: measuring
opens that face too, so a rule gives only sizes whose face exists in that weight
(``kiosk.ui.fonts.FACES``). Kivy thread (measures with the kiosk font, ``KioskFont``,
registered by ``KioskApp.build``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Final

from kiosk.ui.fonts import FONT_NAME

# Kivy lays a line out word by word (kerning across spaces differs a little from one run of
# text): keep this much of the room free.
_MARGIN: Final = 0.03


@lru_cache(maxsize=2048)
def _line_width(line: str, font_size: float, bold: bool) -> float:
    """The width of ``line`` in the kiosk font at ``font_size`` pixels."""
    from kivy.core.text import Label as CoreLabel

    label = CoreLabel(text=line, font_name=FONT_NAME, font_size=font_size, bold=bold)
    width, _height = label.get_extents(line)
    return float(width)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def caption_width(text: str, font_size: float, bold: bool = False) -> float:
    """The width in pixels of the widest line of ``text`` at ``font_size``, with the margin
    ``fit_font`` keeps: a box this wide (plus its padding) shows it on one line."""
    lines = _lines(text)
    if not lines:
        return 0.0
    return max(_line_width(line, font_size, bold) for line in lines) / (1 - _MARGIN)


def fit_font(text: str, room: float, sizes: Sequence[float], bold: bool = False) -> float:
    """The largest of ``sizes`` at which every line of ``text`` fits ``room`` pixels, else the
    smallest. (Sizes are sorted here: while the window's size changes, kv may call this between
    the scale's sizes being set one by one.)"""
    if not sizes or any(size <= 0 for size in sizes):
        raise ValueError(f"fit_font needs one or more positive sizes, got {tuple(sizes)}")
    ordered = sorted(sizes, reverse=True)
    if not _lines(text) or room <= 0:  # nothing to fit, or not laid out yet
        return ordered[0]
    for size in ordered[:-1]:
        if caption_width(text, size, bold) <= room:
            return size
    return ordered[-1]
