"""Receipt / thank you: "take your receipt" when it printed; when the printer could not print
it, the receipt on screen with a QR code of its barcode payload (segno, ``QrImage``). Done (or
a quiet while: ``[ui] attract_after_receipt_s``, three times that when a QR code is shown)
starts the next customer with ``new_sale``. Kivy thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from kivy.clock import Clock

from kiosk.ui.presenters.receipt import present_receipt
from kiosk.ui.screens.base import KioskScreen

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

QR_WAIT_FACTOR: Final = 3.0  # a QR code on screen needs time to be scanned


class ReceiptScreen(KioskScreen):
    _timer: Any = None

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        shown = present_receipt(view, app.text())
        ids = self.ids
        ids.title.text = shown.title
        ids.message.text = shown.message
        ids.total.text = shown.total
        ids.change.text = shown.change
        ids.receipt_no.text = shown.receipt_no
        ids.qr.payload = shown.qr_payload
        ids.receipt_text.text = shown.receipt_text
        ids.qr_box.opacity = 1 if shown.qr_payload else 0
        ids.done_button.text = shown.done
        if not shown.printing:
            seconds = app.settings.attract_after_receipt_s
            self._arm(app, seconds * QR_WAIT_FACTOR if shown.qr_payload else seconds)

    def _arm(self, app: KioskApp, seconds: float) -> None:
        self._disarm()
        self._timer = Clock.schedule_once(lambda _dt: self.done(app), seconds)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def on_leave(self, *_args: Any) -> None:
        self._disarm()

    def done(self, app: KioskApp) -> None:
        self._disarm()
        if app.view.get("mode") == "complete":
            app.send({"cmd": "new_sale"})
