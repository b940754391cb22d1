"""Staff login at the kiosk: staff ID then PIN on the on-screen keypad. Plain Python, no Kivy.

Called on the Kivy UI thread by ``kiosk.ui.screens.staff_login``; unit-tested without Kivy
(tests/unit/ui/test_attendant_login_presenter.py). A staff badge needs no form at all: the
scanner's read goes to the lane as a ``scan`` and the lane logs the badge's owner in
(``staff_logged_in``). Without a badge the attendant types their staff ID (letters and
digits, e.g. ``E01``), then their PIN, which is shown only as dots, sent once in the
``staff_login`` command and then forgotten; it never appears in a log line, a repr or an error.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kiosk.ui.presenters.attendant_entry import N_, EntryError, PinEntry, Translate, error_text

logger = logging.getLogger(__name__)

MAX_STAFF_ID: Final = 16
MIN_PIN: Final = 4
# The staff-ID keyboard: capital letters and digits (staff IDs such as E01, ST0001 badges).
ID_KEYS: Final[tuple[str, ...]] = tuple(string.ascii_uppercase + string.digits)
PIN_KEYS: Final[tuple[str, ...]] = (
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "clear",
    "0",
    "back",
)

STEP_ID: Final = "staff_id"
STEP_PIN: Final = "pin"


@dataclass(frozen=True, slots=True)
class LoginState:
    """What the login screen shows now."""

    step: str
    prompt: str
    staff_id: str
    pin_dots: str
    keys: tuple[str, ...]
    can_go_on: bool
    message: str


class LoginForm:
    """The two-step form: staff ID, then PIN. ``command()`` gives the ``staff_login`` command."""

    def __init__(self) -> None:
        self.step = STEP_ID
        self.staff_id = ""
        self.pin = PinEntry()
        self.message = ""

    def reset(self) -> None:
        self.step = STEP_ID
        self.staff_id = ""
        self.pin.press("clear")
        self.message = ""

    def press(self, key: str) -> None:
        """A key of the current step's keyboard (``back`` deletes one, ``clear`` all)."""
        self.message = ""
        if self.step == STEP_PIN:
            self.pin.press(key)
            return
        if key == "clear":
            self.staff_id = ""
        elif key == "back":
            self.staff_id = self.staff_id[:-1]
        elif key in ID_KEYS:
            if len(self.staff_id) < MAX_STAFF_ID:
                self.staff_id += key
        else:
            raise EntryError(N_("Unknown key {key}"), key=key)

    def next(self) -> None:
        """From the staff ID to the PIN; EntryError when no ID was typed."""
        if self.step == STEP_ID:
            if not self.staff_id:
                raise EntryError(N_("Type your staff ID first"))
            self.step = STEP_PIN

    def back_to_id(self) -> None:
        self.pin.press("clear")
        self.step = STEP_ID

    def command(self) -> dict[str, Any]:
        """The ``staff_login`` command; the PIN leaves the form here and is not kept."""
        if not self.staff_id:
            raise EntryError(N_("Type your staff ID first"))
        if self.pin.length < MIN_PIN:
            raise EntryError(N_("A PIN has at least {n} digits"), n=MIN_PIN)
        return {"cmd": "staff_login", "staff_id": self.staff_id, "pin": self.pin.take()}

    def on_lane(
        self, events: Sequence[Mapping[str, Any]], view: Mapping[str, Any], t: Translate
    ) -> bool:
        """Read a lane answer; True when a staff member is now logged in."""
        for event in events:
            if event.get("event") == "error" and event.get("code") == "auth_failed":
                self.pin.press("clear")
                self.step = STEP_PIN if self.staff_id else STEP_ID
                self.message = error_text(event, t).headline
        if view.get("attendant"):
            self.reset()
            return True
        return False

    def state(self, t: Translate) -> LoginState:
        if self.step == STEP_ID:
            return LoginState(
                step=STEP_ID,
                prompt=t(N_("Scan your staff badge, or type your staff ID")),
                staff_id=self.staff_id,
                pin_dots="",
                keys=ID_KEYS,
                can_go_on=bool(self.staff_id),
                message=self.message,
            )
        return LoginState(
            step=STEP_PIN,
            prompt=t(N_("Type your PIN")),
            staff_id=self.staff_id,
            pin_dots=self.pin.dots,
            keys=PIN_KEYS,
            can_go_on=self.pin.length >= MIN_PIN,
            message=self.message,
        )

    def __repr__(self) -> str:
        return f"LoginForm(step={self.step}, staff_id={self.staff_id!r}, pin={self.pin!r})"
