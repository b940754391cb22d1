"""The payment screen: choose card, wallet payment code, cash (an attendant comes) or a split.

Kivy thread only. ``kiosk.ui.presenters.payment.PaymentLocal`` (kept here and shared with the
processing screen through ``app.screen("payment").local``) holds the split amount, a typed
wallet code and the payment in flight. A card charge holds the lane until the terminal answers;
from the touch until that answer the processing screen is shown (an overlay the router allows
in the scanning and paying modes); a declined or failed charge comes back here with the reason.
The typed wallet code is wiped once sent and never logged. The lane's payment events reach
``on_events`` (called by the app's ``on_lane`` before the view is presented) whichever screen
is current, since the processing screen shows this screen's state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.presenters import payment as p
from kiosk.ui.presenters.lookup import digits
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.lookup import tile_button

if TYPE_CHECKING:
    from kiosk.checkout import Event
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)

TICK_S: Final = 0.5  # the processing screen's elapsed time is redrawn this often


def terminal_timeout(app: KioskApp) -> float:
    """How long the lane waits for the terminal (``[payments] terminal_timeout_s``)."""
    return app.settings.terminal_timeout_s


def enabled_methods(app: KioskApp) -> tuple[str, ...]:
    """The payment methods the kiosk takes (``[payments] methods``)."""
    return app.settings.payment_methods


class PaymentScreen(KioskScreen):
    """Payment choice (rule in payment.kv)."""

    panel = StringProperty("choose")  # choose, split, wallet
    title = StringProperty("")
    amount = StringProperty("")
    paid_line = StringProperty("")
    part_line = StringProperty("")
    status = StringProperty("")
    message = StringProperty("")
    can_split = BooleanProperty(False)
    can_cancel = BooleanProperty(False)
    can_go_back = BooleanProperty(False)
    can_type_wallet = BooleanProperty(False)
    split_text = StringProperty("")
    wallet_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.local = p.PaymentLocal()
        self._app: KioskApp | None = None
        self.started = 0.0  # monotonic time the payment in flight was sent
        self._ticker: Any = None

    def on_panel(self, _screen: Any, panel: str) -> None:
        """Show the panel (the inner ScreenManager's screens exist only after the kv rule)."""
        panels = self.ids.get("panels")
        if panels is not None and panels.has_screen(panel):
            panels.current = panel

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        self._app = app
        self._draw(view)

    def present_hidden(self, app: KioskApp) -> None:
        """The processing screen is shown instead (its touches act on this screen's state)."""
        self._app = app

    def on_leave(self, *_args: Any) -> None:
        self.local.wallet_code = ""
        self.ids.wallet_pad.clear()
        self.ids.split_pad.clear()

    def on_events(self, events: list[Event], app: KioskApp) -> None:
        """Every batch, whichever screen is current: the payment state is shared with the
        processing screen. A charge that ended without completing the sale (declined, failed,
        a part of a split) while the processing overlay is up goes back to the choice, where
        the message says what happened. The app presents the view right after."""
        was_in_flight = bool(self.local.in_flight)
        p.apply_events(self.local, events)
        if not self.local.in_flight:
            self._stop_ticker()
            if was_in_flight and app.local.overlay == "processing":
                app.local.overlay = "payment"

    def _draw(self, view: Mapping[str, Any]) -> None:
        app = self._app
        if app is None:
            return
        text = app.text()
        model = p.payment_model(self.local, view, text._, app.money, enabled_methods(app))
        self.title = model.title
        self.amount = model.amount
        self.paid_line = model.paid_line
        self.part_line = model.part_line
        self.status = model.status
        self.message = model.message
        self.can_split = model.can_split
        self.can_cancel = model.can_cancel
        self.can_go_back = model.can_go_back
        self.can_type_wallet = model.can_type_wallet
        self.split_text = model.split_text
        self.wallet_text = model.wallet_text
        if model.wallet_open:
            self.panel = "wallet"
        elif model.split_open:
            self.panel = "split"
        else:
            self.panel = "choose"
        self.on_panel(self, self.panel)  # the first draw has no property change
        if self.panel in ("split", "wallet"):
            self.status = ""  # room for the keypad on a 800x480 screen
        grid = self.ids.methods
        grid.clear_widgets()
        for button in model.buttons:
            grid.add_widget(tile_button(button.label, lambda m=button.method: self.choose(m)))

    def elapsed(self) -> float:
        return time.monotonic() - self.started if self.started else 0.0

    # ------------------------------------------------------------------ touches
    def choose(self, method: str) -> None:
        app = self._app
        if app is None:
            return
        if method == "wallet" and app.view.get("awaiting_wallet"):
            p.open_wallet_entry(self.local)
            self._draw(app.view)
            return
        command = p.choose(self.local, app.view, method)
        self._send(command)

    def open_split(self) -> None:
        p.open_split(self.local)
        self.ids.split_pad.clear()
        self._redraw()

    def split_changed(self, value: str) -> None:
        self.local.split_digits = digits(value, p.AMOUNT_MAX_DIGITS)
        self.local.message = ""
        self._redraw()

    def confirm_split(self) -> None:
        if self._app is not None and p.confirm_split(self.local, self._app.view):
            self.ids.split_pad.clear()
        self._redraw()

    def cancel_split(self) -> None:
        p.cancel_split(self.local)
        self.ids.split_pad.clear()
        self._redraw()

    def open_wallet(self) -> None:
        p.open_wallet_entry(self.local)
        self.ids.wallet_pad.clear()
        self._redraw()

    def wallet_changed(self, value: str) -> None:
        self.local.wallet_code = digits(value, p.WALLET_CODE_MAX)
        self.local.message = ""
        self._redraw()

    def submit_wallet(self) -> None:
        if self._app is None:
            return
        command = p.wallet_command(self.local, self._app.view)
        if command is not None:
            self.ids.wallet_pad.clear()
        self._send(command)

    def close_wallet(self) -> None:
        self.local.wallet_entry = False
        self.local.wallet_code = ""
        self.ids.wallet_pad.clear()
        self._redraw()

    def cancel_payment(self) -> None:
        if self._app is not None:
            self._send(p.cancel_command(self.local, self._app.view))

    def go_back(self) -> None:
        if self._app is not None:
            p.cancel_split(self.local)
            self._app.back()

    def _redraw(self) -> None:
        if self._app is not None:
            self._draw(self._app.view)

    def _send(self, command: dict[str, Any] | None) -> None:
        app = self._app
        if app is None:
            return
        if command is not None:
            if self.local.in_flight:
                self.started = time.monotonic()
                self._start_ticker()
            app.send(command)
            if self.local.in_flight:
                app.show("processing")  # progress until the terminal answers
                return
        self._draw(app.view)

    def _start_ticker(self) -> None:
        self._stop_ticker()
        self._ticker = Clock.schedule_interval(self._tick, TICK_S)

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def _tick(self, _dt: float) -> None:
        app = self._app
        if app is None or not self.local.in_flight:
            self._stop_ticker()
            return
        if app.screen_name == "processing":
            app.screen("processing").present(app.view, app)
