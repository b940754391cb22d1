"""The touchscreen's font: Noto Sans CJK (Debian fonts-noto-cjk) or a configured file, registered
with Kivy as ``KioskFont`` so Chinese and Japanese text render as glyphs, never as boxes.

``find_font(configured)`` only looks for the files (no Kivy; unit-tested); ``register_fonts``
registers them and is called by ``KioskApp.build`` on the Kivy thread, before any label exists.
A missing font is a ``FontMissing`` error naming the file and the Debian package to install.

``type_scale(base)``: the five text sizes every screen uses (``app.font_small`` ...
``app.font_display``). Kivy's SDL2 text opens one FreeType face per distinct (pixel size,
weight), and a Noto Sans CJK face holds about 2.5 MiB of tables copied from the file, for as
long as the app runs: a free choice of sizes per label cost the kiosk 15 faces (37 MiB); the
scale with bold at three of its sizes (``FACES``) costs six (15 MiB).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kiosk.errors import KioskError

logger = logging.getLogger(__name__)

FONT_NAME: Final = "KioskFont"
NOTO_DIRS: Final = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
)
NOTO_REGULAR: Final = "NotoSansCJK-Regular.ttc"
NOTO_BOLD: Final = "NotoSansCJK-Bold.ttc"
DEBIAN_PACKAGE: Final = "fonts-noto-cjk"


# name -> multiple of the base size (the window's shorter side / 24): small print, body text,
# emphasised lines and buttons, titles and totals, the one big word of a screen
TYPE_SCALE: Final = {"small": 0.8, "body": 1.0, "large": 1.2, "title": 1.6, "display": 2.4}


# the (size, bold) pairs the screens draw text in, each a FreeType face in memory: bold only
# at the body and the two largest sizes, small and large print regular
FACES: Final = frozenset(
    {("small", False), ("body", False), ("body", True), ("large", False), ("title", True),
     ("display", True)}
)  # fmt: skip


def type_scale(base: float) -> dict[str, int]:
    """The scale's sizes in whole pixels for a base size (SDL opens a face at a whole pixel
    size: 26.7 and 26 would be two faces of the same size)."""
    if base <= 0:
        raise ValueError(f"the base font size must be positive, got {base}")
    return {name: max(1, round(base * ratio)) for name, ratio in TYPE_SCALE.items()}


def faces(base: float) -> frozenset[tuple[int, bool]]:
    """The (pixel size, bold) pairs text may be drawn in at this base size (``FACES``)."""
    scale = type_scale(base)
    return frozenset((scale[name], bold) for name, bold in FACES)


class FontMissing(KioskError):
    """The CJK font (or the configured one) is not there."""


@dataclass(frozen=True)
class FontFiles:
    regular: Path
    bold: Path


def find_font(
    configured: str | Path | None = None, dirs: tuple[Path, ...] = NOTO_DIRS
) -> FontFiles:
    """The configured font file (regular and bold alike), else Noto Sans CJK from ``dirs``."""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FontMissing(
                f"the configured touchscreen font {path} does not exist; give a TrueType or "
                f"OpenType file with CJK glyphs, or leave it out to use Noto Sans CJK "
                f"(Debian package {DEBIAN_PACKAGE})"
            )
        return FontFiles(path, path)
    for folder in dirs:
        regular = folder / NOTO_REGULAR
        if regular.is_file():
            bold = folder / NOTO_BOLD
            return FontFiles(regular, bold if bold.is_file() else regular)
    looked = ", ".join(str(folder / NOTO_REGULAR) for folder in dirs)
    raise FontMissing(
        f"the CJK font {NOTO_REGULAR} is missing (looked for {looked}): install it with "
        f"`apt-get install {DEBIAN_PACKAGE}` (provisioning/install-deps.sh does)"
    )


def register_fonts(configured: str | Path | None = None) -> FontFiles:
    """Register ``KioskFont`` with Kivy (Kivy thread, before any label is made)."""
    from kivy.core.text import LabelBase

    files = find_font(configured)
    LabelBase.register(
        name=FONT_NAME,
        fn_regular=str(files.regular),
        fn_bold=str(files.bold),
    )
    logger.info("font %s: %s", FONT_NAME, files.regular)
    return files
