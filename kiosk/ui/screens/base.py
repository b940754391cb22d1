"""``KioskScreen``: the base of every touchscreen screen.

A screen renders the lane view it is given and sends lane-protocol commands through the app
(``app.send``); it never reaches into the lane. ``present(view, app)`` is called on the Kivy
thread when the screen is about to be shown and whenever the view changes while it is current.
A screen that follows the lane's events (search results, payment outcomes, errors) defines
``on_events(events, app)``: ``KioskApp.on_lane`` calls it on every screen that has it, for each
non-empty batch, after routing the batch's view and before the current screen presents it.
There is no other path from the lane to a screen (no screen listens to the lane runner).
Each screen's rule lives in its own ``.kv`` file next to its module, loaded by
``KioskApp.build`` (never at import).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kivy.uix.screenmanager import Screen

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)


class KioskScreen(Screen):  # type: ignore[misc]  # Kivy has no type hints
    """A screen of the kiosk; subclasses implement ``present``."""

    def present(self, view: Mapping[str, Any], app: KioskApp) -> None:
        """Render ``view`` (Kivy thread). The default shows nothing of the view."""

    def widget(self, widget_id: str) -> Any:
        """The widget with kv id ``widget_id`` (KeyError naming it and the screen)."""
        try:
            return self.ids[widget_id]
        except KeyError:
            raise KeyError(f"screen {self.name!r} has no widget with id {widget_id!r}") from None


class PlaceholderScreen(KioskScreen):
    """Stands in for a screen left out with ``KioskApp(screens=...)`` (development only)."""
