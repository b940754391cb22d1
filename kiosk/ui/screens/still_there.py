"""The idle prompt: "are you still there?" over an abandoned basket, or, once the lane has
suspended it, that the basket is kept and an attendant is coming. Any touch continues.
Kivy thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk.ui.presenters.notices import CONTINUE_COMMAND, present_still_there
from kiosk.ui.screens.notice import NoticeScreen

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp


class StillThereScreen(NoticeScreen):
    presenter = staticmethod(present_still_there)

    def act(self, app: KioskApp) -> None:
        app.send(CONTINUE_COMMAND)

    def on_touch_up(self, touch: Any) -> bool:
        if super().on_touch_up(touch):
            return True
        if not self.collide_point(*touch.pos):
            return False
        if self.manager is None or self.manager.current != self.name:
            return False
        if self.ids.action_button.collide_point(*touch.pos) or not self.ids.action_button.text:
            return False  # the button's own release acts; a suspended sale waits for staff
        from kivy.app import App

        self.act(App.get_running_app())
        return True
