"""The simple customer screens: help requested, out of service, and "still there?".

Out of service shows customers only that the lane is closed and, when staff gave one, the
reason; technical detail (a storage fault's message) is for the attendant screens. Plain Python
(no Kivy); called on the Kivy thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kiosk.ui.presenters.text import Text

# Sent by "I'm still here" (kiosk.lane_idle): answers the prompt, the sale goes on.
CONTINUE_COMMAND: Final[dict[str, str]] = {"cmd": "still_here"}


@dataclass(frozen=True)
class NoticeView:
    title: str
    message: str
    action: str  # the button's text ("" = no button)


def present_help(view: Mapping[str, Any], text: Text) -> NoticeView:
    waiting = any(i.get("reason") == "help" for i in view.get("interventions") or ())
    return NoticeView(
        title=text._("Help is on the way"),
        message=(
            text._("An attendant has been called and will be with you shortly.")
            if waiting
            else text._("Calling an attendant…")
        ),
        action=text._("Back"),
    )


def present_out_of_service(view: Mapping[str, Any], text: Text) -> NoticeView:
    reason = str(view.get("out_of_service") or "")
    # A storage or device fault's text is technical: customers see only that the lane is shut.
    technical = reason.startswith(("storage", "device", "kiosk.db"))
    shown = reason if reason and not technical and reason != "closed by staff" else ""
    message = text._("Please use another checkout.")
    return NoticeView(
        title=text._("This checkout is closed"),
        message=f"{shown}\n{message}" if shown else message,
        action="",
    )


def present_still_there(view: Mapping[str, Any], text: Text) -> NoticeView:
    if view.get("idle") == "suspended":
        return NoticeView(
            title=text._("Your basket is kept"),
            message=text._("An attendant has been called and will help you finish."),
            action="",  # only an attendant resumes a suspended sale
        )
    return NoticeView(
        title=text._("Are you still there?"),
        message=text._("Touch the screen to continue your purchase."),
        action=text._("I'm still here"),
    )
