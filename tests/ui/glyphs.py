"""Which drawn characters a font has no glyph for: each would be drawn as a box ("tofu").

Kivy's SDL2 text draws every character from the one font file it was given (SDL_ttf has no
fallback font), so a character missing from the kiosk font's character map is a box on the
screen. The UI driver records what each scenario drew (``tests/ui/driver.py``); every scenario
run by ``run_scenario`` is checked here against the font files Kivy was given."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

from fontTools.ttLib import TTFont


@lru_cache(maxsize=8)
def character_map(path: str) -> frozenset[int]:
    """The code points ``path`` has glyphs for (the first font of a collection: SDL_ttf's)."""
    font = TTFont(path, fontNumber=0, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def missing_glyphs(drawn: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """``drawn``: font file -> the characters drawn with it; what each file has no glyph for.
    Control characters (a line break) are layout, not glyphs."""
    missing = {}
    for path, chars in drawn.items():
        known = character_map(path)
        gone = sorted(
            c for c in set(chars) if ord(c) not in known and unicodedata.category(c) != "Cc"
        )
        if gone:
            missing[path] = "".join(gone)
    return missing
