"""Shared touchscreen widgets: ``KioskButton`` (a touch target of at least 9 mm),
``KioskLabel``, ``Banner``, ``Keypad``, ``LanguageBar``, ``StaffCorner`` and ``QrImage``.
Their kv rules are in widgets.kv, loaded by ``KioskApp.build`` (never at import). Kivy thread
only.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any, Final

import segno
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.metrics import mm
from kivy.properties import ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.ui.widgets.drawing import ClippedRecycleView, LineLabel, Panels  # noqa: F401  (kv)

logger = logging.getLogger(__name__)

KV_FILE: Final = Path(__file__).resolve().parent / "widgets.kv"
MIN_TOUCH_MM: Final = 9.0


def min_touch() -> float:
    """The smallest touch target, in pixels: 9 mm at the display's density."""
    return float(mm(MIN_TOUCH_MM))


class KioskLabel(Label):  # type: ignore[misc]  # Kivy has no type hints
    """A label in the kiosk font that wraps to its width."""


class KioskButton(Button):  # type: ignore[misc]
    """A button at least 9 mm high and wide, in the kiosk font; ``tone`` is its palette colour
    (``button``, ``secondary``, ``help``, ``error``, ``accent``, ``muted``); ``colour`` an RGBA
    of its own instead (a category's tile). Never set ``background_color``: the shared rule
    recomputes it from these whenever the button is pressed or let go."""

    tone = StringProperty("button")
    colour = ListProperty([])


class Banner(KioskLabel):
    """A strip across the screen (FAKE HARDWARE, messages)."""


class Keypad(GridLayout):  # type: ignore[misc]
    """Digits 0-9, delete and OK. ``value`` holds what was typed; ``on_ok`` fires with it."""

    value = StringProperty("")
    max_length = NumericProperty(20)
    __events__ = ("on_ok",)

    def press(self, key: str) -> None:
        if key == "del":
            self.value = self.value[:-1]
        elif key == "ok":
            self.dispatch("on_ok", self.value)
        elif key.isdigit() and len(self.value) < self.max_length:
            self.value += key

    def clear(self) -> None:
        self.value = ""

    def on_ok(self, value: str) -> None:
        """Default handler (Kivy requires one)."""


class StaffCorner(Widget):  # type: ignore[misc]
    """An unmarked corner: held for ``hold_s`` seconds it fires ``on_hold`` (the staff PIN
    login). A tap passes through to what lies under it."""

    hold_s = NumericProperty(2.0)
    __events__ = ("on_hold",)

    def on_touch_down(self, touch: Any) -> bool:
        if not self.collide_point(*touch.pos):
            return False
        touch.ud["staff_corner"] = Clock.schedule_once(
            lambda _dt: self.dispatch("on_hold"), self.hold_s
        )
        return False  # what lies under the corner still gets the touch

    def on_touch_up(self, touch: Any) -> bool:
        pending = touch.ud.pop("staff_corner", None)
        if pending is not None:
            pending.cancel()
        return False

    def on_hold(self) -> None:
        """Default handler (Kivy requires one)."""


class LanguageBar(BoxLayout):  # type: ignore[misc]
    """One button per customer language, named in that language (ids ``lang_<code>``);
    pressing one switches the customer's language (``app.choose_language``)."""

    def __init__(self, **kwargs: Any) -> None:
        self.buttons: list[Any] = []  # before super(): kv rules may refresh at once
        super().__init__(**kwargs)

    def refresh(self, app: Any) -> None:
        from kiosk.ui.i18n import LANGUAGES

        if [b.lang for b in self.buttons] != list(app.languages):
            self.clear_widgets()
            self.buttons.clear()
            for lang in app.languages:
                button = KioskButton(text=LANGUAGES.get(lang, lang))
                button.lang = lang
                button.bind(on_release=lambda b: app.choose_language(b.lang))
                self.buttons.append(button)
                self.add_widget(button)
        for button in self.buttons:
            button.tone = "button" if button.lang == app.lang else "secondary"

    def button(self, lang: str) -> Any:
        for button in self.buttons:
            if button.lang == lang:
                return button
        raise KeyError(f"no language button for {lang!r}")


class QrImage(Image):  # type: ignore[misc]
    """A QR code of ``payload`` (segno), drawn crisp (nearest-neighbour scaling)."""

    payload = StringProperty("")

    def on_payload(self, _instance: Any, payload: str) -> None:
        if not payload:
            self.texture = None
            return
        buffer = io.BytesIO()
        segno.make(payload, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
        buffer.seek(0)
        texture = CoreImage(buffer, ext="png").texture
        texture.mag_filter = "nearest"
        self.texture = texture
