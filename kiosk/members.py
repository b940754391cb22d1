"""Members as the lane sees them. Pure core, used on the lane thread.

A member is identified by scanning a member code, or by a phone number typed on the kiosk's
keypad (the ``member_phone`` command). The raw number only ever passes through: the store
adapter turns it into a keyed hash (HMAC-SHA256) to look it up, and only the masked number
(``138****1234``) is kept, shown, printed or saved. The raw number is never stored, logged,
published, or echoed in an error message (``check_phone`` names its length, not its digits).

``Member`` also carries what the lane last read of the member's accounts (kiosk.db's member
ledger, ``kiosk.loyalty``): the points and stored-value balances and what was already spent on
the business day ``balances_day``. They are kept in the lane snapshot so the view can show them
without a database read; every redemption reads them again from the ledger first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_PHONE: Final = re.compile(r"\+?[0-9]{5,20}")
_SEPARATORS: Final = re.compile(r"[\s().-]")


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    code: str
    level: str = "standard"
    name: str = ""
    masked_phone: str = ""
    # The member's accounts as last read from the ledger (kiosk.loyalty, kiosk.lane_members).
    points: int = 0
    stored_value: int = 0
    points_spent_today: int = 0
    stored_value_spent_today: int = 0
    balances_day: str = ""


def mask_phone(phone: str) -> str:
    """``13812341234`` -> ``138****1234``; shorter numbers keep only their last four digits."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return f"****{digits[-4:]}" if len(digits) > 4 else "****"


def check_phone(phone: str) -> str:
    """The phone number without spaces, dashes, dots or brackets (``+86 138-0013-8000`` ->
    ``+8613800138000``). Raises ``ValueError`` unless it is 5-20 digits with an optional
    leading ``+``; the message gives the length only, never the digits."""
    compact = _SEPARATORS.sub("", phone)
    if not _PHONE.fullmatch(compact):
        raise ValueError(
            f"a phone number must be 5-20 digits (optionally starting with +); "
            f"got {len(phone)} characters"
        )
    return compact
