"""Help requested: the customer pressed Call attendant; Back returns to the sale. Kivy thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.ui.presenters.notices import present_help
from kiosk.ui.screens.notice import NoticeScreen

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp


class HelpScreen(NoticeScreen):
    presenter = staticmethod(present_help)

    def act(self, app: KioskApp) -> None:
        app.back()
