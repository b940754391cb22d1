"""``NoticeScreen``: a title, a message and at most one button; the base of the help, out of
service and still-there screens (its kv rule is in kiosk/ui/app.kv). Kivy thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kiosk.ui.presenters.notices import NoticeView
from kiosk.ui.presenters.text import Text
from kiosk.ui.screens.base import KioskScreen

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp


class NoticeScreen(KioskScreen):
    presenter: Callable[[Mapping[str, Any], Text], NoticeView]

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        shown = type(self).presenter(view, app.text())
        self.ids.title.text = shown.title
        self.ids.message.text = shown.message
        self.ids.action_button.text = shown.action
        self.ids.action_button.opacity = 1 if shown.action else 0
        self.ids.action_button.disabled = not shown.action

    def act(self, app: KioskApp) -> None:
        """The button was pressed."""
