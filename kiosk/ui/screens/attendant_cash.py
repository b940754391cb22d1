"""The attendant's cash screen: amount tendered on a keypad, the change, the drawer, and the
drawer opened without a sale (with a reason, audited by the lane).

Kivy thread only. The screen sends ``cash`` (``tendered``) and ``open_drawer`` (``reason``);
the lane pulses the drawer on its own thread. The change shown is the lane's ``cash_taken``;
"waiting for the drawer to close" is shown from the view's device list and ``device_status``
events until the drawer reads closed (``kiosk.ui.presenters.attendant_cash``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.presenters.attendant_cash import CashDesk
from kiosk.ui.presenters.attendant_entry import EntryError
from kiosk.ui.screens.attendant import AttendantBase
from kiosk.ui.widgets import KioskButton

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)


class AttendantCashScreen(AttendantBase):
    remaining = StringProperty("")
    tendered = StringProperty("")
    change = StringProperty("")
    taken = BooleanProperty(False)
    still_to_pay = StringProperty("")
    drawer_text = StringProperty("")
    waiting_for_drawer = BooleanProperty(False)
    completed = BooleanProperty(False)
    can_take = BooleanProperty(False)
    no_sale = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.desk: CashDesk | None = None
        self._quick_shown: tuple[Any, ...] = ()

    def entered(self, app: KioskApp) -> None:
        currency = str(app.view.get("currency") or app.settings.currency)
        self.desk = CashDesk(currency)
        self.no_sale = False
        self._quick_shown = ()

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        if self.desk is None:
            self.entered(app)
        assert self.desk is not None
        text = self.text(app)
        model = self.desk.model(view, text._, text.money)
        self.remaining = model.remaining
        self.tendered = model.tendered
        self.change = model.change
        self.taken = model.taken
        self.still_to_pay = model.still_to_pay
        self.drawer_text = model.drawer_text
        self.waiting_for_drawer = model.waiting_for_drawer
        self.completed = model.completed
        self.can_take = model.can_take
        shown = (model.quick, model.no_sale_reasons, self.no_sale)
        if shown != self._quick_shown:
            self._quick_shown = shown
            box = self.widget("quick")
            box.clear_widgets()
            if self.no_sale:
                for value, label in model.no_sale_reasons:
                    button = KioskButton(text=label)
                    button.bind(on_release=lambda _b, v=value: self.open_drawer(v))
                    box.add_widget(button)
            else:
                for amount, label in model.quick:
                    button = KioskButton(text=label)
                    button.bind(on_release=lambda _b, a=amount: self.quick(a))
                    box.add_widget(button)

    def _redraw(self) -> None:
        app = App.get_running_app()
        if app is not None and app.view:
            self.present(app.view, app)

    # ------------------------------------------------------------------ kv calls
    def press(self, key: str) -> None:
        if self.desk is not None:
            self.desk.entry.press(key)
            self._redraw()

    def quick(self, amount: int) -> None:
        if self.desk is not None:
            self.desk.entry.set_minor(amount)
            self._redraw()

    def take(self) -> None:
        app: KioskApp = App.get_running_app()
        if self.desk is None:
            return
        remaining = int((app.view.get("totals") or {}).get("remaining", 0))
        try:
            command = self.desk.cash_command(remaining)
        except EntryError as problem:
            self.refuse(app, problem)
            return
        self.send(app, command)

    def toggle_no_sale(self) -> None:
        self.no_sale = not self.no_sale
        self._redraw()

    def open_drawer(self, reason: str) -> None:
        app: KioskApp = App.get_running_app()
        try:
            command = CashDesk.no_sale_command(reason)
        except EntryError as problem:
            self.refuse(app, problem)
            return
        self.no_sale = False
        self.send(app, command)

    def lane_events(self, events: Sequence[Mapping[str, Any]], app: KioskApp) -> None:
        if self.desk is not None:
            self.desk.on_lane(events)
        super().lane_events(events, app)
