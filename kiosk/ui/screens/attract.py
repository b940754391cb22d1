"""The attract (welcome) screen: store name, greeting, language buttons; touch or scan to start.

A scan needs nothing from this screen: the lane opens a sale on the first item and the router
moves to the basket. A touch outside the language buttons sends ``start`` in the chosen
language. Kivy thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kiosk.ui.presenters.attract import present_attract
from kiosk.ui.screens.base import KioskScreen

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

TAP_S = 1.0  # a longer press is not a tap (the staff corner is held for longer)


class AttractScreen(KioskScreen):
    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        shown = present_attract(view, app.text(), app.settings.store_name, app.languages)
        self.ids.store.text = shown.store
        self.ids.title.text = shown.title
        self.ids.prompt.text = shown.prompt
        self.ids.start_button.text = shown.start
        self.ids.languages.refresh(app)

    def start(self, app: KioskApp) -> None:
        app.send({"cmd": "start", "language": app.lang})

    def on_touch_up(self, touch: Any) -> bool:
        if super().on_touch_up(touch):
            return True
        if self.manager is None or self.manager.current != self.name:
            return False
        if not self.collide_point(*touch.pos) or self.ids.languages.collide_point(*touch.pos):
            return False
        if touch.time_end - touch.time_start > TAP_S:
            return False
        from kivy.app import App

        self.start(App.get_running_app())
        return True
