"""The touchscreen's two palettes, ``normal`` and ``high_contrast`` (``[ui] high_contrast``,
``kiosk run --high-contrast``): RGBA colours by role. Plain data, no Kivy.

Every pair of colours the screens draw text with (text on the background or a panel, a
caption on each button tone, the banner's text) has a contrast ratio of at least 4.5:1 in the
normal palette (WCAG 2 AA for body text) and at least 7:1 in the high-contrast one (AAA);
tests/unit/ui/test_palette.py computes them.
"""

from __future__ import annotations

from typing import Final

PALETTES: Final[dict[str, dict[str, list[float]]]] = {
    "normal": {
        "bg": [0.96, 0.96, 0.94, 1],
        "panel": [1, 1, 1, 1],
        "fg": [0.1, 0.1, 0.12, 1],
        "muted": [0.35, 0.35, 0.4, 1],
        "accent": [0.0, 0.45, 0.3, 1],
        "button": [0.0, 0.45, 0.3, 1],
        "button_down": [0.0, 0.3, 0.2, 1],
        "button_fg": [1, 1, 1, 1],
        "secondary": [0.2, 0.3, 0.55, 1],
        "help": [0.7, 0.3, 0.0, 1],
        "error": [0.7, 0.05, 0.05, 1],
        "banner": [0.85, 0.1, 0.1, 1],
        "banner_fg": [1, 1, 1, 1],
    },
    "high_contrast": {
        "bg": [0, 0, 0, 1],
        "panel": [0, 0, 0, 1],
        "fg": [1, 1, 1, 1],
        "muted": [1, 1, 0.6, 1],
        "accent": [1, 1, 0, 1],
        "button": [1, 1, 0, 1],
        "button_down": [0.7, 0.7, 0, 1],
        "button_fg": [0, 0, 0, 1],
        "secondary": [0, 1, 1, 1],
        "help": [1, 0.6, 0, 1],
        "error": [1, 0.45, 0.45, 1],
        "banner": [0.55, 0, 0, 1],
        "banner_fg": [1, 1, 1, 1],
    },
}
