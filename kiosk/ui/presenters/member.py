"""Member identification: scan a member code or type a phone number. Plain Python.

The member screen (``kiosk.ui.screens.member``) keeps one ``MemberLocal`` on the Kivy thread.
A member card scanned by the kiosk's scanner reaches the lane as ``scan`` (the lane knows a
member code); a code typed or read by the front end is sent as ``member``; a phone number is
typed on the on-screen keypad and sent once as ``member_phone``. The typed digits live only in
``MemberLocal.phone`` (left out of its repr) until they are sent, then they are wiped: the
screen shows the lane's masked form (``138****0001``) and nothing here logs or keeps the
number. No kivy import; unit-tested in tests/unit/ui/test_member_presenter.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kiosk.members import check_phone
from kiosk.ui.i18n import N_
from kiosk.ui.presenters.lookup import keypad_press

Translate = Callable[[str], str]

PHONE_MAX_DIGITS: Final = 20
PHONE_MIN_DIGITS: Final = 5

# Member levels as the demo and loyalty config spell them; others are shown as they are.
LEVELS: Final[dict[str, str]] = {
    "standard": N_("Member"),
    "silver": N_("Silver member"),
    "gold": N_("Gold member"),
}


@dataclass(slots=True)
class MemberLocal:
    """UI-only state of the member screen. ``phone`` is never shown in a repr."""

    phone: str = field(default="", repr=False)
    sent: bool = False  # a lookup was sent; the digits are gone
    message: str = ""  # msgid
    message_args: dict[str, str] = field(default_factory=dict)
    identified: bool = False


def press(local: MemberLocal, key: str) -> None:
    """A keypad key for the phone number (digits, ``back``, ``clear``)."""
    local.phone = keypad_press(local.phone, key, PHONE_MAX_DIGITS)
    local.sent = False
    local.message = ""


def phone_command(local: MemberLocal) -> dict[str, Any] | None:
    """``member_phone`` with the typed number, which is then wiped from the local state; None
    with a message when the number is too short (the message never repeats the digits)."""
    try:
        phone = check_phone(local.phone)
    except ValueError:
        local.message = N_("A phone number has {min} to {max} digits.")
        local.message_args = {"min": str(PHONE_MIN_DIGITS), "max": str(PHONE_MAX_DIGITS)}
        return None
    local.phone = ""
    local.sent = True
    local.message = N_("Looking for your membership...")
    local.message_args = {}
    return {"cmd": "member_phone", "phone": phone}


def code_command(code: str) -> dict[str, Any]:
    """``member`` for a member code read by the front end (not the lane's scanner)."""
    code = code.strip()
    if not code:
        raise ValueError("member code is empty")
    return {"cmd": "member", "code": code}


def clear(local: MemberLocal) -> None:
    local.phone = ""
    local.sent = False
    local.message = ""
    local.message_args = {}


def apply_events(local: MemberLocal, events: Iterable[Mapping[str, Any]]) -> None:
    """Fold the lane's answer: identified, unknown member or phone, or an error."""
    for event in events:
        kind = event.get("event")
        if kind == "member_identified":
            local.identified = True
            local.phone = ""
            local.message = N_("Welcome! Your member prices apply.")
            local.message_args = {}
        elif kind == "scan_rejected" and event.get("reason") == "unknown_phone":
            local.message = N_("No membership has that phone number.")
            local.message_args = {}
        elif kind == "scan_rejected" and event.get("reason") == "unknown_member":
            local.message = N_("That member card is not known here.")
            local.message_args = {}
        elif kind == "error":
            code = str(event.get("code", ""))
            if code == "wrong_state":
                local.message = N_("Membership can only be added before paying.")
            elif code == "invalid_command":
                local.message = N_("A phone number has {min} to {max} digits.")
                local.message_args = {"min": str(PHONE_MIN_DIGITS), "max": str(PHONE_MAX_DIGITS)}
                continue
            else:
                local.message = N_("That did not work. Please call an attendant.")
            local.message_args = {}


def masked_entry(digits: str) -> str:
    """The number being typed, grouped for reading back (3-4-4); shown only while typing."""
    if len(digits) <= 3:
        return digits
    if len(digits) <= 7:
        return f"{digits[:3]} {digits[3:]}"
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}"


@dataclass(frozen=True, slots=True)
class MemberModel:
    entry: str  # the digits being typed (grouped), or empty once sent
    member_line: str  # "Gold member 138****0001" once identified, else empty
    balance_line: str  # points / stored value, when the lane shows loyalty
    message: str
    can_submit: bool


def member_model(
    local: MemberLocal,
    view: Mapping[str, Any],
    t: Translate,
    money: Callable[[int], str],
) -> MemberModel:
    """Display-ready text for the member screen from the local state and the lane view."""
    _ = t
    member = view.get("member")
    member_line = ""
    if isinstance(member, Mapping):
        level = str(member.get("level", ""))
        label = _(LEVELS[level]) if level in LEVELS else level
        member_line = _("{level} {phone}").format(level=label, phone=member.get("phone", ""))
    balance_line = ""
    loyalty = view.get("loyalty")
    if isinstance(loyalty, Mapping):
        balance_line = _("Points: {points}   Stored value: {value}").format(
            points=int(loyalty.get("points", 0)), value=money(int(loyalty.get("stored_value", 0)))
        )
    message = _(local.message).format(**local.message_args) if local.message else ""
    return MemberModel(
        entry=masked_entry(local.phone),
        member_line=member_line,
        balance_line=balance_line,
        message=message,
        can_submit=len(local.phone) >= PHONE_MIN_DIGITS,
    )
