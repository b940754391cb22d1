"""The attendant's item screen: key in or look up an unknown item, void a line or override its
price with a reason, or confirm a payment whose outcome was unknown with the terminal's
reference.

Kivy thread only. Opened by the attendant screen with ``target`` set (an intervention or a
line, ``kiosk.ui.presenters.attendant_item.ItemTarget``); the form and the commands it sends
(``clear``, ``search``, ``void_line``, ``price_override``) are in the presenter. One panel per
kind of target is put in the screen's body when it is entered. When the intervention is cleared
or the line voided the screen goes back to the queue by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui.presenters.attendant_entry import EntryError
from kiosk.ui.presenters.attendant_item import (
    KIND_LINE,
    KIND_PAYMENT,
    KIND_UNKNOWN,
    ItemForm,
    ItemTarget,
)
from kiosk.ui.screens.attendant import AttendantBase
from kiosk.ui.widgets import KioskButton

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)


class ItemPanel(BoxLayout):  # type: ignore[misc]  # Kivy has no type hints
    """A panel of the item screen; ``screen`` is the screen its buttons call."""

    screen = ObjectProperty(None)


class UnknownItemPanel(ItemPanel):
    """PLU/SKU keypad and name search (rule in attendant_item.kv)."""


class PaymentRefPanel(ItemPanel):
    """The terminal's reference of a payment (rule in attendant_item.kv)."""


class LinePanel(ItemPanel):
    """New unit price, reason, void (rule in attendant_item.kv)."""


PANELS = {KIND_UNKNOWN: UnknownItemPanel, KIND_PAYMENT: PaymentRefPanel, KIND_LINE: LinePanel}


class AttendantItemScreen(AttendantBase):
    title = StringProperty("")
    subtitle = StringProperty("")
    code = StringProperty("")
    price = StringProperty("")
    reason = StringProperty("")
    reasons = ListProperty([])
    has_more = BooleanProperty(False)
    page = StringProperty("")
    can_page_back = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target: ItemTarget | None = None
        self.form: ItemForm | None = None
        self.panel: BoxLayout | None = None
        self._reasons_shown: tuple[Any, ...] = ()

    def entered(self, app: KioskApp) -> None:
        currency = str(app.view.get("currency") or app.settings.currency)
        target = self.target or ItemTarget(KIND_LINE)
        self.form = ItemForm(target, currency)
        body = self.widget("body")
        body.clear_widgets()
        self.panel = PANELS[target.kind](screen=self)
        self._reasons_shown = ()
        body.add_widget(self.panel)

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        if self.form is None:
            return
        text = self.text(app)
        model = self.form.model(view, text._, text.money)
        if model.gone:
            self.target = None
            self.form = None
            app.back()
            return
        self.title = model.title
        self.subtitle = model.subtitle
        self.code = model.code
        self.price = model.price
        self.reason = model.reason
        self.reasons = [list(pair) for pair in model.reasons]
        self.has_more = model.has_more
        self.page = str(model.page + 1) if model.hits else ""
        self.can_page_back = model.page > 0
        self._show_reasons(model.reasons, model.reason, app)
        if self.panel is not None and "hits" in self.panel.ids:
            self.panel.ids["hits"].data = [
                {"text": f"{hit.name}   {hit.price}", "sku": hit.sku} for hit in model.hits
            ]

    def _show_reasons(self, reasons: Any, chosen: str, app: KioskApp) -> None:
        if self.panel is None or "reasons" not in self.panel.ids:
            return
        shown = (tuple(reasons), chosen, app.staff_lang)
        if shown == self._reasons_shown:
            return
        self._reasons_shown = shown
        box = self.panel.ids["reasons"]
        box.clear_widgets()
        for value, label in reasons:
            button = KioskButton(text=label)
            button.tone = "accent" if value == chosen else "muted"
            button.bind(on_release=lambda _b, v=value: self.choose_reason(v))
            box.add_widget(button)

    def _redraw(self) -> None:
        app = App.get_running_app()
        if app is not None and app.view:
            self.present(app.view, app)

    def _do(self, build: Any) -> None:
        """Build a command with the form and send it, or say what is missing."""
        app: KioskApp = App.get_running_app()
        try:
            command = build()
        except EntryError as problem:
            self.refuse(app, problem)
            return
        self.send(app, command)

    # ------------------------------------------------------------------ kv calls
    def press_code(self, key: str) -> None:
        if self.form is not None:
            self.form.press_code(key)
            self._redraw()

    def press_price(self, key: str) -> None:
        if self.form is not None:
            self.form.price.press(key)
            self._redraw()

    def choose_reason(self, reason: str) -> None:
        if self.form is not None:
            self.form.choose_reason(reason)
            self._redraw()

    def add_by(self, by: str) -> None:
        if self.form is not None:
            form = self.form
            self._do(lambda: form.clear_by_code(by))

    def search(self, query: str, page: int = 0) -> None:
        if self.form is not None:
            form = self.form
            form.type_query(query)
            self._do(lambda: form.search_command(page))

    def turn_page(self, step: int) -> None:
        if self.form is not None:
            form = self.form
            self._do(lambda: form.search_command(form.page + step))

    def pick(self, sku: str) -> None:
        if self.form is not None:
            form = self.form
            self._do(lambda: form.clear_with_sku(sku))

    def confirm_payment(self, ref: str) -> None:
        if self.form is not None:
            form = self.form
            form.type_ref(ref)
            self._do(form.payment_command)

    def override(self) -> None:
        if self.form is not None:
            self._do(self.form.override_command)

    def void(self) -> None:
        if self.form is not None:
            self._do(self.form.void_command)

    def lane_events(self, events: Sequence[Mapping[str, Any]], app: KioskApp) -> None:
        if self.form is not None:
            self.form.on_lane(events)
        super().lane_events(events, app)
        current = self.manager is not None and self.manager.current == self.name
        if current and any(event.get("event") == "line_changed" for event in events):
            app.back()  # the new price is on the line: back to the queue
