"""Raster fallback for receipt lines a printer cannot print as text (CJK on a printer without a
CJK font ROM): Pillow draws them with a CJK font, cell by cell on the printer's own column grid,
and ``raster_command`` turns the picture into an ESC/POS ``GS v 0`` raster image.

Called from the thread that prints a job (the lane's printer job); a ``RasterFont`` is loaded
once by the printer adapter and then only read. Pillow is imported here and nowhere else.

Every character is drawn in its own cell (``char_dots`` wide, two cells for an East Asian wide
character), so the columns of a raster line line up exactly with the text lines around it.
A character the font has no glyph for prints as ``?`` (with a warning in the log), never as an
empty box ("tofu"). A missing or unreadable font file is ``DeviceError("no_font: ...")``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from kiosk.errors import DeviceError
from kiosk.hw.printer_profiles import DEFAULT_FONT_INDEX
from kiosk.receipt_text import char_width

__all__ = [
    "MAX_FRAGMENT_DOTS",
    "RasterFont",
    "raster_command",
]

logger = logging.getLogger(__name__)

# The tallest GS v 0 image sent at once (python-escpos splits at the same height).
MAX_FRAGMENT_DOTS = 960

_GS = b"\x1d"
_NOT_A_CHARACTER = "\uffff"  # never in a cmap: draws the font's .notdef glyph ("tofu")
_BASELINE = 0.88  # CJK fonts put the baseline at 88 % of the em box


class RasterFont:
    """A loaded TrueType/OpenType font (a face of a .ttc collection) for raster lines."""

    def __init__(self, font: ImageFont.FreeTypeFont, path: str, size: int) -> None:
        self._font = font
        self.path = path
        self.size = size
        self._glyphs: dict[str, bool] = {}
        self._notdef: bytes | None = None

    @classmethod
    def load(cls, path: str, index: int = DEFAULT_FONT_INDEX, size: int = 24) -> RasterFont:
        """Load face ``index`` of ``path`` at ``size`` pixels per em (24 for 12-dot columns).

        Raises ``DeviceError("no_font: ...")`` when the file is missing, is not a font, or has
        no face ``index``."""
        if not path:
            raise DeviceError(
                "no_font: no raster font is configured (devices.escpos_printer.raster_font)"
            )
        if not os.path.isfile(path):
            raise DeviceError(
                f"no_font: raster font {path} does not exist; install fonts-noto-cjk "
                "or set devices.escpos_printer.raster_font"
            )
        try:
            font = ImageFont.truetype(path, size, index=index)
        except OSError as exc:
            raise DeviceError(f"no_font: cannot load {path} face {index}: {exc}") from exc
        logger.info(
            "raster font loaded: %s face %d (%s)",
            path,
            index,
            " ".join(filter(None, font.getname())),
        )
        return cls(font, path, size)

    def has_glyph(self, ch: str) -> bool:
        """True when the font draws ``ch`` as itself rather than as its "missing" box."""
        known = self._glyphs.get(ch)
        if known is None:
            if self._notdef is None:
                self._notdef = self._cell_bitmap(_NOT_A_CHARACTER)
            known = ch.isspace() or self._cell_bitmap(ch) != self._notdef
            self._glyphs[ch] = known
            if not known:
                logger.warning("raster font %s has no glyph for %r: printing '?'", self.path, ch)
        return known

    def render(
        self,
        lines: Sequence[tuple[str, bool]],
        char_dots: int,
        line_dots: int,
        max_dots: int,
    ) -> Image.Image:
        """``lines`` of ``(text, bold)`` as one black-on-white picture, ``line_dots`` high per
        line and as wide as the widest line (rounded up to 8 dots, at most ``max_dots``)."""
        columns = max((sum(char_width(ch) for ch in text) for text, _ in lines), default=1)
        width = min(max_dots, max(8, -(-columns * char_dots // 8) * 8))
        image = Image.new("L", (width, line_dots * max(len(lines), 1)), 255)
        draw = ImageDraw.Draw(image)
        top = max((line_dots - self.size) // 2, 0)
        for row, (text, bold) in enumerate(lines):
            baseline = row * line_dots + top + round(self.size * _BASELINE)
            column = 0
            previous = 0.0
            for ch in text:
                cells = char_width(ch)
                if cells == 0:  # a combining mark goes on the character before it
                    self._draw(draw, ch, previous, baseline, bold)
                    continue
                centre = (column + cells / 2) * char_dots
                if not ch.isspace():
                    self._draw(draw, ch if self.has_glyph(ch) else "?", centre, baseline, bold)
                previous = centre
                column += cells
        return image

    def _draw(self, draw: ImageDraw.ImageDraw, ch: str, x: float, y: int, bold: bool) -> None:
        draw.text((x, y), ch, font=self._font, fill=0, anchor="ms")
        if bold:  # the printer's emphasis is a double strike one dot to the right
            draw.text((x + 1, y), ch, font=self._font, fill=0, anchor="ms")

    def _cell_bitmap(self, ch: str) -> bytes:
        image = Image.new("L", (self.size * 2, self.size * 2), 255)
        self._draw(ImageDraw.Draw(image), ch, self.size, round(self.size * 1.5), False)
        return image.tobytes()


def raster_command(image: Image.Image) -> bytes:
    """``GS v 0`` commands printing ``image`` (dark pixels print), in fragments of at most
    ``MAX_FRAGMENT_DOTS`` rows. The width is padded to whole bytes with white."""
    grey = image.convert("L")
    width, height = grey.size
    width_bytes = (width + 7) // 8
    # 1 bits are ink: dark pixels become white (1) in mode "1", no dithering.
    bits = grey.point(lambda v: 255 if v < 128 else 0).convert("1", dither=Image.Dither.NONE)
    if width % 8:
        padded = Image.new("1", (width_bytes * 8, height), 0)
        padded.paste(bits, (0, 0))
        bits = padded
    out = bytearray()
    for top in range(0, height, MAX_FRAGMENT_DOTS):
        rows = min(MAX_FRAGMENT_DOTS, height - top)
        fragment = bits.crop((0, top, width_bytes * 8, top + rows))
        out += _GS + b"v0\x00" + width_bytes.to_bytes(2, "little") + rows.to_bytes(2, "little")
        out += fragment.tobytes()
    return bytes(out)
