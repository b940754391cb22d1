"""The lookup screen: find an item without a barcode (category tiles, PLU keypad, name search).

Kivy thread only. The state lives in ``kiosk.ui.presenters.lookup.LookupLocal``; this module
turns touches into presenter calls and lane commands (``app.send``) and draws the presenter's
model. The lane's answers (``search_results``, ``item_added``, ``error``) reach the screen
through ``on_events``, which the app's ``on_lane`` calls before it presents the view.

A category with a picture is a ``CategoryTile``: the picture, scaled to fit and never
stretched, above one label with the name. Pictures are read and decoded on the screen's own
reader thread, as Kivy's ``Loader`` does (nothing is read from disk on the Kivy thread), once
per file; the texture is made on the Kivy thread when the file is decoded. Until then, and for
good when a file cannot be read (logged once), the tile shows the initial and the name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty

from kiosk.ui.presenters import lookup as p
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import KioskButton

if TYPE_CHECKING:
    from kiosk.checkout import Event
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)

# The search keyboard: Latin letters and digits (names are searched in every language).
KEY_ROWS: Final[tuple[str, ...]] = ("1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")


def tile_button(text: str, on_press: Any, colour: tuple[float, ...] | None = None) -> KioskButton:
    """A result or category tile: a KioskButton (9 mm or more) with wrapped text."""
    button = KioskButton(text=text)
    if colour is not None:
        button.colour = list(colour)
    button.bind(on_release=lambda *_a: on_press())
    return button


class CategoryTile(KioskButton):
    """A category tile; ``picture`` is the category's picture texture, if any (rule in
    lookup.kv: the picture fills the tile above the label)."""

    picture = ObjectProperty(None, allownone=True)


def _read_picture(path: str) -> Any:
    """Read and decode a picture file (the reader thread; no GL: the texture is made later, on
    the Kivy thread). None when no image loader can read it."""
    from kivy.core.image import ImageLoader

    return ImageLoader.load(path, keep_data=True)


def _show(tile: CategoryTile, category: p.Category, texture: Any) -> None:
    tile.picture = texture
    tile.text = category.tile_text(pictured=True)


def fit_picture(
    x: float, y: float, width: float, height: float, label_h: float, picture: Any
) -> tuple[float, float, float, float]:
    """Where a tile draws its picture: (x, y, w, h) centred in the tile above a label
    ``label_h`` high, keeping the picture's proportions; all zero without a picture."""
    if picture is None or not picture.width or not picture.height:
        return (x, y, 0.0, 0.0)
    pad = label_h * 0.2
    room_w, room_h = max(0.0, width - 2 * pad), max(0.0, height - label_h - 2 * pad)
    scale = min(room_w / picture.width, room_h / picture.height)
    w, h = picture.width * scale, picture.height * scale
    return (x + (width - w) / 2, y + label_h + pad + (room_h - h) / 2, w, h)


class LookupScreen(KioskScreen):
    """Lookup without a barcode (rule in lookup.kv)."""

    panel = StringProperty("plu")  # categories, plu, search, weight, results
    message = StringProperty("")
    show_categories = BooleanProperty(False)
    tab = StringProperty("plu")
    plu_text = StringProperty("")
    query_text = StringProperty("")
    weight_prompt = StringProperty("")
    weight_text = StringProperty("")
    page_text = StringProperty("")
    can_prev = BooleanProperty(False)
    can_next = BooleanProperty(False)
    results_title = StringProperty("")
    keys = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.local = p.LookupLocal()
        self._pictures: dict[str, Any] = {}  # picture path -> texture (None: unreadable)
        self._loading: dict[str, list[Any]] = {}  # path being read -> who waits for it
        self._reader: ThreadPoolExecutor | None = None  # reads and decodes the pictures
        self._app: KioskApp | None = None
        self._keyboard_built = False

    # ------------------------------------------------------------------ presenting
    def on_pre_enter(self, *_args: Any) -> None:
        self.local = p.fresh(self.local, with_categories=p.categories_supported())
        self.ids.plu_pad.clear()
        self.ids.weight_pad.clear()
        if self._app is not None and self.local.categories_enabled:
            # asked again on each entry: the names are in the lane's language, which may have
            # changed since (the list on screen meanwhile is the last one)
            self._app.send(p.categories_command())

    def on_panel(self, _screen: Any, panel: str) -> None:
        """Show the panel (the inner ScreenManager's screens exist only after the kv rule)."""
        panels = self.ids.get("panels")
        if panels is not None and panels.has_screen(panel):
            panels.current = panel

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        first = self._app is None
        self._app = app
        if first and self.local.categories_enabled and not self.local.categories:
            app.send(p.categories_command())
        if not self._keyboard_built:
            self._build_keyboard()
        self._draw()

    def on_events(self, events: list[Event], app: KioskApp) -> None:
        if app.screen_name != self.name:
            return
        p.apply_events(self.local, events)
        if self.local.added:
            self.local.added = False
            app.back()  # to the basket, which shows what was added
        # else the app presents the view (and so draws the results) right after

    def _draw(self) -> None:
        app = self._app
        if app is None:
            return
        model = p.lookup_model(self.local, app.text()._, app.money)
        self.show_categories = model.show_categories
        self.tab = model.tab
        self.message = model.message
        self.plu_text = model.plu_text
        self.query_text = model.query_text
        self.weight_prompt = model.weight_prompt
        self.weight_text = model.weight_text
        self.page_text = model.page_text
        self.can_prev = model.can_prev
        self.can_next = model.can_next
        self.results_title = model.category_title or model.query_text
        if model.weight_prompt:
            self.panel = "weight"
        elif self.local.searched and (model.tab == "search" or self.local.category):
            self.panel = "results"
        else:
            self.panel = model.tab
        self.on_panel(self, self.panel)  # the first draw has no property change
        self._fill_results(model)
        self._fill_categories()

    def _fill_results(self, model: p.LookupModel) -> None:
        grid = self.ids.results
        grid.clear_widgets()
        for row in model.rows:
            product = row.product
            text = f"{row.name}\n{row.price}" + (f"   {row.detail}" if row.detail else "")
            grid.add_widget(tile_button(text, lambda prod=product: self.choose(prod)))

    def _fill_categories(self) -> None:
        grid = self.ids.categories
        grid.clear_widgets()
        for category in self.local.categories:
            tile = CategoryTile(text=category.tile_text(pictured=False))
            tile.colour = list(category.colour)
            tile.bind(on_release=lambda *_a, key=category.key: self.open_category(key))
            grid.add_widget(tile)
            if category.picture:
                self._picture(category.picture, lambda t, c=category, w=tile: _show(w, c, t))

    def _picture(self, path: str, show: Any) -> None:
        """``show(texture)`` once the picture at ``path`` is decoded: at once when it was
        before, never when it cannot be read (logged once)."""
        if path in self._pictures:
            if self._pictures[path] is not None:
                show(self._pictures[path])
            return
        waiting = self._loading.get(path)
        if waiting is not None:
            waiting.append(show)
            return
        self._loading[path] = [show]
        if self._reader is None:
            self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pictures")
        future = self._reader.submit(_read_picture, path)
        future.add_done_callback(  # on the reader's thread: the rest on the Kivy thread
            lambda done: Clock.schedule_once(lambda _dt: self._decoded(path, done), 0)
        )

    def _decoded(self, path: str, done: Future[Any]) -> None:
        shows = self._loading.pop(path, [])
        error = done.exception()
        image = None if error is not None else done.result()
        if image is None:
            logger.error("category picture %s cannot be shown: %s", path, error or "no loader")
            self._pictures[path] = None
            return
        texture = self._pictures[path] = image.texture  # made here, on the Kivy thread
        for show in shows:
            show(texture)

    def _build_keyboard(self) -> None:
        grid = self.ids.keyboard
        grid.clear_widgets()
        for row in KEY_ROWS:
            for key in row:
                grid.add_widget(tile_button(key, lambda k=key: self.type_key(k)))
        self._keyboard_built = True

    # ------------------------------------------------------------------ touches
    def select_tab(self, tab: str) -> None:
        p.select_tab(self.local, tab)
        self.local.searched = False
        self.local.category = ""
        self._draw()

    def plu_changed(self, value: str) -> None:
        self.local.plu = p.digits(value, p.PLU_MAX_DIGITS)
        self.local.message = ""
        self._draw()

    def submit_plu(self) -> None:
        self._send(p.plu_command(self.local))

    def weight_changed(self, value: str) -> None:
        self.local.weight = p.digits(value, p.WEIGHT_MAX_DIGITS)
        self.local.message = ""
        self._draw()

    def submit_weight(self) -> None:
        self._send(p.weight_command(self.local))

    def cancel_weight(self) -> None:
        p.cancel_weight(self.local)
        self.ids.weight_pad.clear()
        self._draw()

    def type_key(self, key: str) -> None:
        p.type_query(self.local, key.lower())
        self._draw()

    def search(self, page: int = 0) -> None:
        self._send(p.search_command(self.local, page))

    def new_search(self) -> None:
        self.local.searched = False
        self.local.results = ()
        self._draw()

    def choose(self, product: p.ProductTile) -> None:
        self.ids.weight_pad.clear()
        self._send(p.choose_product(self.local, product))

    def open_category(self, key: str) -> None:
        self._send(p.open_category(self.local, key))

    def close_category(self) -> None:
        p.close_category(self.local)
        self._draw()

    def go_back(self) -> None:
        if self._app is not None:
            self._app.back()

    def _send(self, command: dict[str, Any] | None) -> None:
        if command is not None and self._app is not None:
            self._app.send(command)
        self._draw()
