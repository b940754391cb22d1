"""Members as the lane sees them. Pure core.

A member is identified by scanning a member code (or, from the touchscreen, a phone number that
the store adapter turns into a keyed hash before looking it up). Only the masked phone number
(``138****1234``) is ever shown; the raw number is never stored, logged or published.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    code: str
    level: str = "standard"
    name: str = ""
    masked_phone: str = ""


def mask_phone(phone: str) -> str:
    """``13812341234`` -> ``138****1234``; shorter numbers keep only their last four digits."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return f"****{digits[-4:]}" if len(digits) > 4 else "****"
