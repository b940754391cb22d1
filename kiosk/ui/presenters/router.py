"""Which screen to show: ``route(view, local) -> screen name``.

The lane view decides (mode, attendant, idle state); ``UiLocal`` holds what only the
touchscreen knows: an overlay the customer or attendant asked for (``lookup``, ``help``,
``payment``...), the last message, the attendant's language. Plain Python (no Kivy); called on
the Kivy thread after every lane answer and every ``app.show``/``app.back``.

Rules, first match wins:

1. ``staff_login`` asked for (hidden corner hold, or a staff badge scanned) -> ``staff_login``.
2. an attendant is logged in (``view["attendant"]``) -> the asked-for staff screen, else
   ``attendant``.
3. mode ``out_of_service`` -> ``out_of_service``.
4. ``view.get("idle")`` is ``prompt`` (the customer is asked whether they are still there) or
   ``suspended`` (the basket was kept and an attendant alerted) -> ``still_there``. A lane
   without the field never routes here.
5. mode ``complete`` -> ``receipt``; mode ``paying`` -> ``payment`` when asked for (choosing
   the next tender of a split payment), else ``processing``.
6. mode ``idle`` -> ``attract``, or ``help``/``lookup``/``member`` when asked for (a customer
   may look an item up or ask for help before the first scan).
7. mode ``scanning`` -> the asked-for customer screen, else ``basket``. ``processing`` is one
   of them: a card or wallet charge started from the basket holds the lane (still
   ``scanning``) until the terminal answers, and the customer sees its progress meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kiosk.ui.screens.registry import CUSTOMER_SCREENS, STAFF_SCREENS

IDLE_STATES: Final = ("", "prompt", "suspended")
# Overlays a customer can ask for in each mode.
_IDLE_OVERLAYS: Final = frozenset({"help", "lookup", "member"})
_SCANNING_OVERLAYS: Final = frozenset({"help", "lookup", "member", "payment", "processing"})


@dataclass
class UiLocal:
    """State only the touchscreen keeps (never the basket: that is the lane's)."""

    overlay: str | None = None  # a screen asked for with app.show(), until app.back()
    notice: str = ""  # msgid of the message shown to the customer ("" = none)
    staff_lang: str = ""  # the attendant's language ("" = the customer's)
    last_mode: str = ""  # the mode of the view last routed (an overlay ends with its mode)

    @property
    def staff_mode(self) -> bool:
        return self.overlay in STAFF_SCREENS


def route(view: Mapping[str, Any], local: UiLocal) -> str:
    """The screen for ``view`` and ``local`` (see the module docstring)."""
    overlay = local.overlay
    if overlay == "staff_login" and not view.get("attendant"):
        return "staff_login"
    if view.get("attendant"):
        if overlay in STAFF_SCREENS and overlay != "staff_login":
            return overlay
        return "attendant"
    mode = view.get("mode", "idle")
    if mode == "out_of_service":
        return "out_of_service"
    idle = view.get("idle", "")
    if idle not in IDLE_STATES:
        raise ValueError(f"view idle {idle!r} is not one of {IDLE_STATES}")
    if idle:
        return "still_there"
    if mode == "complete":
        return "receipt"
    if mode == "paying":
        return "payment" if overlay == "payment" else "processing"
    if mode == "idle":
        return overlay if overlay in _IDLE_OVERLAYS else "attract"
    if mode == "scanning":
        return overlay if overlay in _SCANNING_OVERLAYS else "basket"
    raise ValueError(f"view mode {mode!r} is not a lane mode")


def overlay_after(view: Mapping[str, Any], local: UiLocal) -> str | None:
    """The overlay to keep after a new view: a customer overlay ends when the mode changes
    (a sale completed, the lane closed); a staff overlay ends when the attendant logs out."""
    overlay = local.overlay
    if overlay is None:
        return None
    if overlay in STAFF_SCREENS:
        if overlay == "staff_login":
            return None if view.get("attendant") else overlay
        return overlay if view.get("attendant") else None
    if overlay in CUSTOMER_SCREENS and view.get("mode") != local.last_mode and local.last_mode:
        # going from idle to scanning keeps a lookup/member overlay: the first item added
        # from the lookup screen starts the sale while the customer is still there
        if local.last_mode == "idle" and view.get("mode") == "scanning":
            return overlay
        return None
    return overlay
