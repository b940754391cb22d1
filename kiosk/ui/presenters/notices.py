"""The simple customer screens: help requested, out of service, and "still there?".

Out of service shows customers only that the lane is closed and, when staff closed it for one
of the reasons customers are told (``CUSTOMER_REASONS``: cleaning, maintenance, the end of the
day), that reason in the customer's language. Any other reason (a storage fault's message, a
free text) is for the attendant screens only: customers never see it, in any language. Plain Python
(no Kivy); called on the Kivy thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kiosk.ui.presenters.attendant_entry import N_
from kiosk.ui.presenters.text import Text

# Sent by "I'm still here" (kiosk.lane_idle): answers the prompt, the sale goes on.
CONTINUE_COMMAND: Final[dict[str, str]] = {"cmd": "still_here"}


# The ``out_of_service`` reasons customers are told, and how (the command's ``reason``).
CUSTOMER_REASONS: Final[Mapping[str, str]] = {
    "cleaning": N_("Closed for cleaning."),
    "maintenance": N_("Closed for maintenance."),
    "end of day": N_("Closed for the day."),
}


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
    reason = str(view.get("out_of_service") or "").strip().lower()
    shown = text._(CUSTOMER_REASONS[reason]) if reason in CUSTOMER_REASONS else ""
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
