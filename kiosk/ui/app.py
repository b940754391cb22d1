"""``KioskApp``: the Kivy touchscreen, a front end of the lane protocol like ``kiosk sim``.

``build()`` registers the fonts, loads the shared widgets' and every screen's ``.kv`` file (rules
may use classes another screen's file defines) and makes one ScreenManager under a FAKE
HARDWARE banner. Each screen (``kiosk.ui.screens.registry``) is made and added the first time
it is routed to or asked for (``screen``), not at build: a kiosk starts faster and most
customers never see most screens. Lane answers arrive through ``LaneBridge`` as
``on_lane(events, view)``; the router
(``kiosk.ui.presenters.router``) picks the screen, every screen with an ``on_events`` hook gets
the batch's events (a screen not made yet has no state to follow them with, except those
``registry.FOLLOWERS`` names, made at build), and the current screen ``present``s the view.
Screens send commands with ``app.send``; nothing here waits for the lane.

Kiosk-grade: the Kivy window settings (fullscreen, borderless, no exit on Escape, no cursor)
are made by ``kiosk.app.gui`` before the window exists; here the window refuses to close
(``on_request_close``), the settings panel (F1) is disabled and Escape and the function keys
are swallowed. ``high_contrast`` switches the palette.

Threads: everything here runs on the Kivy (main) thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from kivy.app import App
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    DictProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import ScreenManager

from kiosk.checkout import Event
from kiosk.lane_runner import LaneRunner
from kiosk.ui import format as fmt
from kiosk.ui.bridge import LaneBridge
from kiosk.ui.fonts import register_fonts, type_scale
from kiosk.ui.i18n import LANGUAGES, Translations
from kiosk.ui.palette import PALETTES
from kiosk.ui.presenters.messages import notice_of
from kiosk.ui.presenters.router import UiLocal, overlay_after, route
from kiosk.ui.presenters.text import Text
from kiosk.ui.screens import registry
from kiosk.ui.screens.base import KioskScreen, PlaceholderScreen
from kiosk.ui.settings import UiSettings
from kiosk.ui.widgets import KV_FILE as WIDGETS_KV
from kiosk.ui.widgets.drawing import Panels

logger = logging.getLogger(__name__)

APP_KV: Final = __file__.rsplit(".", 1)[0] + ".kv"

# Keys that do something in a plain Kivy app (Escape closes, F1 opens settings...): swallowed.
_SWALLOWED_KEYS: Final = frozenset({27, 9, *range(282, 294)})  # Escape, Tab, F1-F12


class KioskScreens(Panels):
    """The ScreenManager that makes a kiosk screen the first time it is asked for by name
    (``current = name`` included): ``make(name)`` makes it and adds it here."""

    make: Any = None

    def get_screen(self, name: str) -> Any:
        if self.make is not None and name in registry.NAMES:
            self.make(name)  # a no-op once made
        return super().get_screen(name)


class KioskRoot(FloatLayout):  # type: ignore[misc]  # Kivy has no type hints
    """The banner over the ScreenManager, and the staff corner (rule in app.kv)."""

    manager = ObjectProperty(None)


class KioskApp(App):  # type: ignore[misc]
    """The touchscreen (see the module docstring)."""

    view = DictProperty({})
    lang = StringProperty("en")
    staff_lang = StringProperty("en")
    staff_mode = BooleanProperty(False)
    high_contrast = BooleanProperty(False)
    fake_hardware = BooleanProperty(False)
    colors = DictProperty(PALETTES["normal"])
    fs = NumericProperty(20.0)  # the base size in pixels, from the window size: spacing, widths
    # text sizes: only these five (kiosk.ui.fonts.type_scale), whole pixels
    font_small = NumericProperty(16)
    font_body = NumericProperty(20)
    font_large = NumericProperty(24)
    font_title = NumericProperty(32)
    font_display = NumericProperty(48)
    portrait = BooleanProperty(False)
    notice = StringProperty("")  # msgid of the customer's message
    languages = ListProperty([])
    screen_name = StringProperty("")

    def __init__(
        self,
        runner: LaneRunner,
        settings: UiSettings,
        screens: Sequence[str] | None = None,
        translations: Translations | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.title = "kiosk"
        self.use_kivy_settings = False
        self.runner = runner
        self.settings = settings
        offered = [lang for lang in settings.languages if lang in LANGUAGES]
        if not offered:
            raise ValueError(
                f"none of the kiosk's languages {', '.join(settings.languages)} has a "
                f"touchscreen translation ({', '.join(LANGUAGES)})"
            )
        self.languages = offered
        self.translations = translations or Translations(LANGUAGES)
        start = settings.default_language
        self.lang = start if start in offered else offered[0]
        self.staff_lang = self.lang
        self.high_contrast = settings.high_contrast
        self.only = tuple(screens) if screens is not None else None
        self.local = UiLocal()
        self.bridge: LaneBridge | None = None
        self._screens: dict[str, KioskScreen] = {}
        self._classes: dict[str, type] = {}
        self._manager: KioskScreens | None = None

    # ------------------------------------------------------------------ building
    def build(self) -> KioskRoot:
        register_fonts(self.settings.font)
        Window.bind(size=self._resized)
        self._resized(Window, Window.size)  # the type scale, before any label opens a face
        self._load_kv(WIDGETS_KV)
        self._load_kv(APP_KV)
        root = KioskRoot()
        manager: KioskScreens = root.manager
        manager.make = self.screen
        for name in registry.NAMES:
            if self.only is None or name in self.only:
                cls, kv_file = registry.load(name)
                self._load_kv(kv_file)
                self._classes[name] = cls
        self._manager = manager
        for name in (registry.NAMES[0], *registry.FOLLOWERS):  # the first is shown first
            self.screen(name)
        Window.bind(on_request_close=self._refuse_close, on_keyboard=self._on_keyboard)
        self.bridge = LaneBridge(self.runner, self.on_lane)
        self.bind(high_contrast=self._palette, lang=self._relabel)
        self._palette(self, self.high_contrast)
        return root

    @staticmethod
    def _load_kv(path: Any) -> None:
        Builder.unload_file(str(path))  # a second app in one process loads the rules once
        Builder.load_file(str(path))

    # ------------------------------------------------------------------ kiosk-grade window
    def open_settings(self, *_args: Any) -> bool:
        return False  # no settings panel on a kiosk

    def _refuse_close(self, *_args: Any, **_kwargs: Any) -> bool:
        logger.info("window close request refused (kiosk)")
        return True

    def _on_keyboard(self, _window: Any, key: int, *_args: Any) -> bool:
        return key in _SWALLOWED_KEYS

    def _resized(self, _window: Any, size: Sequence[float]) -> None:
        width, height = size
        self.portrait = height > width
        self.fs = max(14.0, min(width, height) / 24.0)
        for name, pixels in type_scale(self.fs).items():
            setattr(self, f"font_{name}", pixels)

    def _palette(self, _app: Any, high: bool) -> None:
        self.colors = dict(PALETTES["high_contrast" if high else "normal"])
        Window.clearcolor = self.colors["bg"]

    # ------------------------------------------------------------------ what kv calls
    def t(self, msgid: str, lang: str | None = None) -> str:
        """``msgid`` in ``lang`` (kv passes ``app.lang`` so the text follows a switch)."""
        return self.translations.gettext(msgid, lang or self.lang) if msgid else ""

    def text(self, lang: str | None = None) -> Text:
        """Translation and formats of ``lang`` (default: the customer's) for presenters."""
        currency = str(self.view.get("currency") or self.settings.currency)
        return Text(self.translations, lang or self.lang, currency)

    def money(self, minor: int, lang: str | None = None) -> str:
        currency = str(self.view.get("currency") or self.settings.currency)
        return fmt.money(minor, currency, lang or self.lang)

    def send(self, message: Mapping[str, Any]) -> None:
        """Queue a lane command (never waits)."""
        if self.bridge is None:
            raise RuntimeError("the app is not built yet")
        self.bridge.send(message)

    def show(self, name: str) -> None:
        """Ask for ``name`` on top of what the lane decides (``lookup``, ``help``...)."""
        registry.spec(name)  # unknown names fail loudly
        self.local.overlay = name
        self.clear_notice()
        self.refresh()

    def back(self) -> None:
        """Drop the asked-for screen: back to what the lane decides."""
        self.local.overlay = None
        self.clear_notice()
        self.refresh()

    def choose_language(self, lang: str) -> None:
        """The customer picked a language: the lane switches (receipt, product names)."""
        if lang not in self.languages:
            raise ValueError(f"{lang!r} is not offered; offered: {', '.join(self.languages)}")
        self.lang = lang
        self.send({"cmd": "language", "language": lang})

    def set_staff_language(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"{lang!r} has no translation; known: {', '.join(LANGUAGES)}")
        self.local.staff_lang = lang
        self.staff_lang = lang

    def call_attendant(self) -> None:
        self.send({"cmd": "help"})
        self.show("help")

    def open_staff_login(self) -> None:
        if not self.view.get("attendant"):
            self.show("staff_login")

    def clear_notice(self) -> None:
        self.notice = ""
        self.local.notice = ""

    # ------------------------------------------------------------------ lane answers
    def on_lane(self, events: Iterable[Event], view: Mapping[str, Any]) -> None:
        """A batch from the lane (Kivy thread, via the bridge): the one path from the lane to
        the screens. The view is routed (its screen made current), then every screen that
        defines ``on_events(events, app)`` gets a non-empty batch (lookup results, payment
        outcomes, attendant errors...; ``app.view`` and ``app.screen_name`` are already the new
        ones), then the current screen presents the view."""
        for event in events:
            notice = notice_of(event)
            if notice is not None:
                self.local.notice = notice
        self.notice = self.local.notice
        language = str(view.get("language") or "")
        if language in self.languages:
            self.lang = language
        self.fake_hardware = bool(view.get("fake_hardware"))
        self.staff_mode = bool(view.get("attendant"))
        self.local.overlay = overlay_after(view, self.local)
        self.local.last_mode = str(view.get("mode", ""))
        self.view = dict(view)
        batch = list(events)
        if batch and self.root is not None:
            self._switch()  # the screens see the screen this view routes to
            for screen in list(self._screens.values()):
                hook = getattr(screen, "on_events", None)
                if hook is not None:
                    hook(batch, self)
        self.refresh()

    def refresh(self) -> None:
        """Route to the right screen and present the view on it."""
        name = self._switch()
        if name:
            self.screen(name).present(self.view, self)

    def _switch(self) -> str:
        """Route the view and make its screen current (without presenting); its name, or ""
        before the app is built or the lane's first view."""
        if self.root is None or not self.view:
            return ""
        name = route(self.view, self.local)
        self.screen(name)  # made the first time it is routed to
        manager: ScreenManager = self.root.manager
        if manager.current != name:
            manager.current = name
        self.screen_name = name
        return name

    def _relabel(self, *_args: Any) -> None:
        if self.root is not None and self.screen_name:
            self.screen(self.screen_name).present(self.view, self)

    def screen(self, name: str) -> KioskScreen:
        """The screen object called ``name``, made (and added to the manager) the first time
        it is asked for (the router, other screens, tests, the bench driver)."""
        screen = self._screens.get(name)
        if screen is None:
            registry.spec(name)  # unknown names fail loudly
            if self._manager is None:
                raise RuntimeError(f"screen {name!r} asked for before the app is built")
            cls = self._classes.get(name)
            screen = cls(name=name) if cls is not None else PlaceholderScreen(name=name)
            self._screens[name] = screen
            self._manager.add_widget(screen)
        return screen
