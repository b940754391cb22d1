"""``fit_font``: the font size at which a text fits its width on one line, and
``caption_width``: the width a text needs on one line, for kv rules.

Captions, amounts and totals must show whole, on one line, at every supported window size
(tests/ui/layouts.py checks it). Where a layout cannot give such a text the room it needs at
its normal size in every language (a narrow panel, portrait), its rule asks for
``fit_font(text, room, largest, smallest, bold)`` instead of a fixed size: the normal size
when the text fits, else the size at which it does, never under ``smallest`` (a text that
does not fit even then wraps, and the layout test says so). A size in between is rounded
down to a multiple of ``SIZE_STEP_PX``: every distinct font size is a FreeType face of its own
in memory (about 2.5 MiB each for Noto Sans CJK), so free sizes would grow the kiosk with every
caption. Kivy thread (measures with the kiosk font, ``KioskFont``, registered by
``KioskApp.build``).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Final

from kiosk.ui.fonts import FONT_NAME

SIZE_STEP_PX: Final = 2.0
_MEASURED_AT: Final = 100.0  # px: text widths scale with the font size
# Kivy lays a line out word by word (kerning across spaces differs a little from one run of
# text): keep this much of the room free.
_MARGIN: Final = 0.03


@lru_cache(maxsize=1024)
def _width_per_px(line: str, bold: bool) -> float:
    """The width of ``line`` in the kiosk font at 1 px."""
    from kivy.core.text import Label as CoreLabel

    label = CoreLabel(text=line, font_name=FONT_NAME, font_size=_MEASURED_AT, bold=bold)
    width, _height = label.get_extents(line)
    return float(width) / _MEASURED_AT


def caption_width(text: str, font_size: float, bold: bool = False) -> float:
    """The width in pixels of the widest line of ``text`` at ``font_size``, with the margin
    ``fit_font`` keeps: a box this wide (plus its padding) shows it on one line."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if not lines:
        return 0.0
    return font_size * max(_width_per_px(line, bold) for line in lines) / (1 - _MARGIN)


def fit_font(text: str, room: float, largest: float, smallest: float, bold: bool = False) -> float:
    """The largest font size up to ``largest`` at which every line of ``text`` fits ``room``
    pixels, but not under ``smallest``: ``largest`` itself, or a multiple of ``SIZE_STEP_PX``
    (or ``smallest``)."""
    if smallest <= 0 or smallest > largest:
        raise ValueError(
            f"fit_font needs 0 < smallest <= largest, got smallest {smallest}, largest {largest}"
        )
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines or room <= 0:  # nothing to fit, or not laid out yet
        return largest
    widest = max(_width_per_px(line.strip(), bold) for line in lines)
    if widest <= 0:
        return largest
    fitted = room * (1 - _MARGIN) / widest
    if fitted >= largest:
        return largest
    return max(smallest, math.floor(fitted / SIZE_STEP_PX) * SIZE_STEP_PX)
