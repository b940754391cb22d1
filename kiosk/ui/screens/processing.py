"""The processing screen: a payment in progress, and what a paying sale is waiting for.

Kivy thread only. The router shows it while the lane is ``paying`` (unless the customer asked
for the payment screen to choose the next tender). It reads the payment screen's
``PaymentLocal`` (``app.screen("payment").local``): a card or wallet charge in flight shows a
progress bar against the terminal's timeout and no cancel (money may be moving); otherwise it
says what the sale waits for (the wallet code, the attendant with cash, an attendant checking
a payment of unknown outcome) and offers cancel only where the lane allows it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.ui.presenters import payment as p
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.payment import PaymentScreen, terminal_timeout

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)


class ProcessingScreen(KioskScreen):
    """Payment progress (rule in processing.kv)."""

    title = StringProperty("")
    amount = StringProperty("")
    hint = StringProperty("")
    elapsed = StringProperty("")
    message = StringProperty("")
    progress = NumericProperty(0.0)
    busy = BooleanProperty(False)
    can_cancel = BooleanProperty(False)
    can_choose = BooleanProperty(False)
    can_type_wallet = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._app: KioskApp | None = None

    def payment(self) -> PaymentScreen:
        assert self._app is not None
        screen = self._app.screen("payment")
        if not isinstance(screen, PaymentScreen):
            raise TypeError("the payment screen is not loaded (KioskApp(screens=...))")
        return screen

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        self._app = app
        payment = self.payment()
        payment.present_hidden(app)
        model = p.processing_model(
            payment.local,
            view,
            app.text()._,
            app.money,
            payment.elapsed(),
            terminal_timeout(app),
        )
        self.title = model.title
        self.amount = model.amount
        self.hint = model.hint
        self.elapsed = model.elapsed
        self.message = model.message
        self.progress = model.progress
        self.busy = model.busy
        self.can_cancel = model.can_cancel
        self.can_choose = model.can_choose
        self.can_type_wallet = model.can_type_wallet

    # ------------------------------------------------------------------ touches
    def choose(self) -> None:
        if self._app is not None:
            self._app.show("payment")

    def type_wallet(self) -> None:
        if self._app is not None:
            p.open_wallet_entry(self.payment().local)
            self._app.show("payment")

    def cancel(self) -> None:
        app = self._app
        if app is None:
            return
        command = p.cancel_command(self.payment().local, app.view)
        if command is not None:
            app.send(command)
        self.present(app.view, app)
