"""The staff login screen: scan a staff badge, or type staff ID and PIN on the keypad.

Kivy thread only. Reached from the unmarked staff corner (held, ``app.open_staff_login``);
a customer who finds it still needs a badge or a PIN. A badge scanned anywhere logs its owner
in without this screen (the lane handles the scan). The PIN is shown as dots only, sent once
in ``staff_login`` and never logged (``kiosk.ui.presenters.attendant_login.LoginForm``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.presenters.attendant_entry import EntryError
from kiosk.ui.presenters.attendant_login import STEP_PIN, LoginForm
from kiosk.ui.screens.attendant import AttendantBase
from kiosk.ui.widgets import KioskButton

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)

KEY_LABELS = {"back": "←", "clear": "C"}


class StaffLoginScreen(AttendantBase):
    prompt = StringProperty("")
    staff_id = StringProperty("")
    pin_dots = StringProperty("")
    pin_step = BooleanProperty(False)
    can_go_on = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.form = LoginForm()
        self._keys: tuple[str, ...] = ()

    def entered(self, app: KioskApp) -> None:
        self.form.reset()

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        state = self.form.state(self.text(app)._)
        self.prompt = state.prompt
        self.staff_id = state.staff_id
        self.pin_dots = state.pin_dots
        self.pin_step = state.step == STEP_PIN
        self.can_go_on = state.can_go_on
        if state.keys != self._keys:
            self._keys = state.keys
            grid = self.widget("keys")
            grid.clear_widgets()
            grid.cols = 3 if self.pin_step else (6 if app.portrait else 9)
            for key in state.keys:
                button = KioskButton(text=KEY_LABELS.get(key, key))
                button.bind(on_release=lambda _b, k=key: self.press(k))
                grid.add_widget(button)

    def _redraw(self) -> None:
        app = App.get_running_app()
        if app is not None:
            self.present(app.view, app)

    def press(self, key: str) -> None:
        try:
            self.form.press(key)
        except EntryError as problem:
            self.refuse(App.get_running_app(), problem)
            return
        self.say("")
        self._redraw()

    def go_on(self) -> None:
        """Next (after the staff ID) or Log in (after the PIN)."""
        app: KioskApp = App.get_running_app()
        try:
            if self.form.step == STEP_PIN:
                command = self.form.command()
                self.send(app, command)
            else:
                self.form.next()
        except EntryError as problem:
            self.refuse(app, problem)
        self._redraw()

    def go_back(self) -> None:
        app: KioskApp = App.get_running_app()
        if self.form.step == STEP_PIN:
            self.form.back_to_id()
            self._redraw()
        else:
            self.form.reset()
            app.back()

    def lane_events(self, events: Sequence[Mapping[str, Any]], app: KioskApp) -> None:
        if self.manager is None or self.manager.current != self.name:
            return
        self.form.on_lane(events, app.view, self.text(app)._)
        super().lane_events(events, app)
