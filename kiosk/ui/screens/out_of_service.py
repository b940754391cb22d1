"""Out of service: the lane takes no sale; customers see only the reason staff gave (the
technical detail is on the attendant screens). Kivy thread."""

from __future__ import annotations

from kiosk.ui.presenters.notices import present_out_of_service
from kiosk.ui.screens.notice import NoticeScreen


class OutOfServiceScreen(NoticeScreen):
    presenter = staticmethod(present_out_of_service)
