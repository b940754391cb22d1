"""The attendant's shift screen: open a shift with a float, print the X report, count the
drawer and close the shift with its Z report, shown on screen as well as printed.

Kivy thread only. Sends ``shift_open``, ``x_report`` and ``shift_close`` (``counted``); the
lane prints the report and answers with its figures, laid out by
``kiosk.ui.presenters.attendant_shift.report_text`` in the attendant's language. Closing asks
for a second tap, since it cannot be undone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.presenters.attendant_entry import EntryError
from kiosk.ui.presenters.attendant_shift import ShiftDesk
from kiosk.ui.screens.attendant import AttendantBase

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)


class AttendantShiftScreen(AttendantBase):
    amount = StringProperty("")
    report = StringProperty("")
    status = StringProperty("")
    confirm_close = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.desk: ShiftDesk | None = None

    def entered(self, app: KioskApp) -> None:
        currency = str(app.view.get("currency") or app.settings.currency)
        self.desk = ShiftDesk(currency)
        self.confirm_close = False

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        if self.desk is None:
            self.entered(app)
        assert self.desk is not None
        text = self.text(app)
        model = self.desk.model(text._, text.money)
        self.amount = model.amount
        self.report = model.report
        self.status = model.status
        if model.status and not self.message:
            self.say(model.status)

    def _redraw(self) -> None:
        app = App.get_running_app()
        if app is not None and app.view:
            self.present(app.view, app)

    def press(self, key: str) -> None:
        if self.desk is not None:
            self.desk.press(key)
            self.confirm_close = False
            self._redraw()

    def open_shift(self) -> None:
        if self.desk is not None:
            self.send(App.get_running_app(), self.desk.open_command())

    def x_report(self) -> None:
        self.send(App.get_running_app(), ShiftDesk.x_report_command())

    def close_shift(self) -> None:
        app: KioskApp = App.get_running_app()
        if self.desk is None:
            return
        try:
            command = self.desk.close_command()
        except EntryError as problem:
            self.refuse(app, problem)
            return
        if not self.confirm_close:
            self.confirm_close = True
            return
        self.confirm_close = False
        self.send(app, command)

    def lane_events(self, events: Sequence[Mapping[str, Any]], app: KioskApp) -> None:
        if self.desk is not None:
            self.desk.on_lane(events)
            if any(e.get("event") in ("shift_opened", "x_report", "shift_closed") for e in events):
                self.say("")
        super().lane_events(events, app)
