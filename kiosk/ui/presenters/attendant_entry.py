"""Keypad entries and error texts shared by the attendant screens. Plain Python, no Kivy.

Called on the Kivy UI thread by the attendant screens (``kiosk/ui/screens/attendant*.py``) and
by their presenters; unit-tested without Kivy. ``AmountEntry`` turns keypad digits into integer
minor units the cash-register way (``1``, ``2``, ``5``, ``0`` typed is 12.50 in CNY), so no
float or decimal point is ever typed; ``PinEntry`` holds a PIN that is only ever shown as dots
and never appears in ``repr``, a log line or an exception. ``error_text`` turns a lane ``error``
event into a translated sentence for staff (the lane's English message is kept as a detail).

Every user-visible string is a msgid marked with ``N_`` (extracted by Babel) and translated by
the caller's ``t`` (``app.t(msgid, app.staff_lang)``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from kiosk.money import exponent

logger = logging.getLogger(__name__)

Translate = Callable[[str], str]
FormatMoney = Callable[[int], str]

MAX_AMOUNT_DIGITS: Final = 9  # 9 digits of minor units: 9 999 999.99 in CNY, plenty for a till
MAX_PIN_DIGITS: Final = 12


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction; translated later by the caller's ``t``."""
    return msgid


class EntryError(ValueError):
    """What the attendant typed cannot be used; ``msgid`` says why (translate it to show it)."""

    def __init__(self, msgid: str, **values: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.values = values

    def text(self, t: Translate) -> str:
        return t(self.msgid).format(**self.values)


class AmountEntry:
    """Digits typed on a keypad, read as minor units of ``currency``."""

    def __init__(self, currency: str, max_digits: int = MAX_AMOUNT_DIGITS) -> None:
        self.currency = currency
        self.exponent = exponent(currency)
        self.max_digits = max_digits
        self.digits = ""

    def press(self, key: str) -> None:
        """A keypad key: a digit, ``00``, ``back`` (delete one) or ``clear``."""
        if key == "clear":
            self.digits = ""
        elif key == "back":
            self.digits = self.digits[:-1]
        elif key.isdigit() and key.isascii():
            typed = (self.digits + key).lstrip("0") or "0"  # a typed 0 is an amount: 0
            if len(typed) <= self.max_digits:
                self.digits = typed
        else:
            raise EntryError(N_("Unknown key {key}"), key=key)

    def set_minor(self, minor: int) -> None:
        """Fill in an amount (a quick-tender button)."""
        if minor < 0:
            raise EntryError(N_("The amount cannot be negative"))
        if len(str(minor)) > self.max_digits:
            raise EntryError(N_("The amount is too large"))
        self.digits = str(minor)

    @property
    def minor(self) -> int:
        return int(self.digits) if self.digits else 0

    @property
    def empty(self) -> bool:
        return not self.digits

    def require(self, minimum: int = 1) -> int:
        """The amount, or EntryError when nothing (or too little) was typed."""
        if self.empty:
            raise EntryError(N_("Type an amount first"))
        if self.minor < minimum:
            raise EntryError(N_("The amount must be at least {minimum}"), minimum=minimum)
        return self.minor

    def __repr__(self) -> str:
        return f"AmountEntry({self.currency}, {self.minor})"


class PinEntry:
    """A PIN typed on the keypad. Shown only as dots; never in repr, logs or errors."""

    def __init__(self, max_digits: int = MAX_PIN_DIGITS) -> None:
        self.max_digits = max_digits
        self._digits = ""

    def press(self, key: str) -> None:
        if key == "clear":
            self._digits = ""
        elif key == "back":
            self._digits = self._digits[:-1]
        elif key.isdigit() and key.isascii() and len(key) == 1:
            if len(self._digits) < self.max_digits:
                self._digits += key
        else:
            raise EntryError(N_("Only digits can be typed here"))

    @property
    def dots(self) -> str:
        return "●" * len(self._digits)

    @property
    def length(self) -> int:
        return len(self._digits)

    def take(self) -> str:
        """The PIN, once, for the login command; the entry is cleared."""
        pin, self._digits = self._digits, ""
        return pin

    def __repr__(self) -> str:
        return f"PinEntry(length={len(self._digits)})"


@dataclass(frozen=True, slots=True)
class ErrorText:
    """A lane error for staff: a translated headline and the lane's own (English) detail."""

    code: str
    headline: str
    detail: str


ERROR_MSGIDS: Final[Mapping[str, str]] = {
    "invalid_command": N_("That cannot be done: something was missing or wrong."),
    "not_allowed": N_("An attendant must be logged in for this."),
    "wrong_state": N_("Not possible right now."),
    "blocked": N_("Clear the open interventions first."),
    "not_found": N_("Not found."),
    "storage": N_("The kiosk cannot save anything right now (storage problem)."),
    "auth_failed": N_("Login refused: unknown badge or staff ID, or wrong PIN."),
    "device": N_("A device failed."),
    "limit": N_("A limit does not allow this."),
}
LOCKED_OUT: Final = N_("Too many wrong PINs: this staff member is locked out for a while.")
UNKNOWN_ERROR: Final = N_("Something went wrong.")


def error_text(event: Mapping[str, Any], t: Translate) -> ErrorText:
    """A lane ``error`` event as text for the attendant (by ``code``; the message as detail)."""
    code = str(event.get("code", ""))
    message = str(event.get("message", ""))
    msgid = ERROR_MSGIDS.get(code, UNKNOWN_ERROR)
    if code == "auth_failed" and "locked out" in message:
        msgid = LOCKED_OUT
    return ErrorText(code, t(msgid), message)


def last_error(events: list[Mapping[str, Any]], t: Translate) -> ErrorText | None:
    """The last ``error`` among ``events``, as text; None when there is none."""
    for event in reversed(events):
        if event.get("event") == "error":
            return error_text(event, t)
    return None
