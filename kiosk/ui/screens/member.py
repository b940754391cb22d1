"""The member screen: scan a member card or type a phone number on the keypad.

Kivy thread only. A member card is read by the kiosk's scanner and reaches the lane as a scan;
this screen offers the phone keypad (``member_phone``) and shows the lane's masked number once
the member is identified. The typed digits are held by the keypad widget and
``kiosk.ui.presenters.member.MemberLocal`` only until they are sent, then both are cleared;
nothing here logs them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.presenters import member as p
from kiosk.ui.presenters.lookup import digits
from kiosk.ui.screens.base import KioskScreen

if TYPE_CHECKING:
    from kiosk.checkout import Event
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)


class MemberScreen(KioskScreen):
    """Member identification (rule in member.kv)."""

    entry = StringProperty("")
    member_line = StringProperty("")
    balance_line = StringProperty("")
    message = StringProperty("")
    can_submit = BooleanProperty(False)
    identified = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.local = p.MemberLocal()
        self._app: KioskApp | None = None

    def on_pre_enter(self, *_args: Any) -> None:
        self.local = p.MemberLocal()
        self.ids.phone_pad.clear()

    def on_leave(self, *_args: Any) -> None:
        self.local = p.MemberLocal()  # never keep typed digits off screen
        self.ids.phone_pad.clear()

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        self._app = app
        self._draw(view)

    def on_events(self, events: list[Event], app: KioskApp) -> None:
        if app.screen_name != self.name:
            return
        p.apply_events(self.local, events)  # the app presents the view right after

    def _draw(self, view: Mapping[str, Any]) -> None:
        app = self._app
        if app is None:
            return
        model = p.member_model(self.local, view, app.text()._, app.money)
        self.entry = model.entry
        self.member_line = model.member_line
        self.balance_line = model.balance_line
        self.message = model.message
        self.can_submit = model.can_submit
        self.identified = bool(model.member_line)

    # ------------------------------------------------------------------ touches
    def phone_changed(self, value: str) -> None:
        self.local.phone = digits(value, p.PHONE_MAX_DIGITS)
        self.local.sent = False
        self.local.message = ""
        if self._app is not None:
            self._draw(self._app.view)

    def submit(self) -> None:
        command = p.phone_command(self.local)
        self.ids.phone_pad.clear()  # the digits leave the screen at once
        self.local.phone = ""
        if command is not None and self._app is not None:
            self._app.send(command)
        if self._app is not None:
            self._draw(self._app.view)

    def done(self) -> None:
        if self._app is not None:
            self._app.back()
