"""Draw the demo category pictures (kiosk/demo/pictures/*.png) with Pillow.

Called by ``provisioning.make_demo_data`` (a developer tool run by hand; the pictures are
committed). Each picture is a 240x240 tile: a colour and a simple drawn shape per category, and
the category's Chinese and English names in Noto Sans CJK (Debian's fonts-noto-cjk) when it is
installed, Pillow's own font otherwise (the English name only then: no tofu boxes). The lookup
screen shows them as category tiles (``[paths] pictures``, the catalog's ``category_picture``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageFont

SIZE: Final = 240
FONT_DIRS: Final = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto")
FONT_FILE: Final = "NotoSansCJK-Bold.ttc"

# Background colours (dark enough for white text) and shapes, chosen by the category's hash.
COLOURS: Final = (
    (23, 102, 51),
    (153, 38, 26),
    (26, 77, 153),
    (115, 51, 140),
    (140, 84, 0),
    (0, 102, 115),
    (89, 89, 89),
    (153, 26, 89),
)
SHAPES: Final = ("circle", "square", "triangle", "diamond", "bottle", "leaf")
SHAPE_OF: Final = {  # by English name; others by hash
    "drinks": "bottle",
    "alcohol": "triangle",
    "fruit": "circle",
    "vegetables": "leaf",
    "dairy": "bottle",
    "snacks": "diamond",
    "household": "square",
    "tobacco": "square",
    "bakery": "circle",
    "staples": "square",
    "condiments": "diamond",
}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> ImageFont.FreeTypeFont | None:
    for folder in FONT_DIRS:
        path = Path(folder) / FONT_FILE
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    return None


def _shape(draw: ImageDraw.ImageDraw, kind: str, colour: tuple[int, int, int]) -> None:
    light = tuple(min(255, c + 110) for c in colour)
    box = (70, 28, 170, 128)
    if kind == "circle":
        draw.ellipse(box, fill=light)
    elif kind == "square":
        draw.rounded_rectangle(box, radius=18, fill=light)
    elif kind == "triangle":
        draw.polygon([(120, 28), (172, 128), (68, 128)], fill=light)
    elif kind == "diamond":
        draw.polygon([(120, 24), (172, 78), (120, 132), (68, 78)], fill=light)
    elif kind == "bottle":
        draw.rounded_rectangle((104, 24, 136, 56), radius=6, fill=light)
        draw.rounded_rectangle((88, 50, 152, 130), radius=16, fill=light)
    else:  # leaf
        draw.ellipse((72, 40, 168, 116), fill=light)
        draw.line((80, 108, 160, 48), fill=colour, width=6)


def _centred(draw: ImageDraw.ImageDraw, y: int, text: str, font: Font) -> None:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    draw.text(((SIZE - (right - left)) / 2 - left, y), text, font=font, fill=(255, 255, 255))


def draw_picture(category: str) -> Image.Image:
    """The tile of a ``中文/English`` category."""
    digest = hashlib.sha256(category.encode("utf-8")).digest()
    colour = COLOURS[digest[0] % len(COLOURS)]
    image = Image.new("RGB", (SIZE, SIZE), colour)
    draw = ImageDraw.Draw(image)
    zh, _, en = category.partition("/")
    _shape(draw, SHAPE_OF.get(en.lower(), SHAPES[digest[1] % len(SHAPES)]), colour)
    big, small = _font(40), _font(24)
    if big is not None and small is not None:
        _centred(draw, 140, zh, big)
        _centred(draw, 196, en or zh, small)
    else:
        _centred(draw, 180, en or category, ImageFont.load_default())
    return image


def write_pictures(out: Path, categories: Sequence[str]) -> list[Path]:
    """Write one ``<english name>.png`` per category into ``out``; returns the files."""
    from provisioning.make_demo_data import picture_name

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for category in categories:
        path = out / picture_name(category)
        image = draw_picture(category).quantize(colors=32)
        image.save(path, format="PNG", optimize=True)
        written.append(path)
    return written
