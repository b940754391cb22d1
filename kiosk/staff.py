"""Staff: who may act as attendant or supervisor, and PIN checking. Pure core.

PINs are stored only as ``scrypt$n$r$p$salt$hash`` (hashlib.scrypt, a slow memory-hard KDF).
After ``max_failures`` wrong PINs in a row the staff member is locked out for ``lockout_s``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Role = Literal["attendant", "supervisor"]

_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1


@dataclass(frozen=True, slots=True)
class StaffMember:
    staff_id: str
    name: str
    role: Role
    badge: str | None = None
    pin_hash: str | None = None
    failures: int = 0
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def can(self, needed: Role) -> bool:
        """Supervisors can do everything attendants can."""
        return needed == "attendant" or self.role == "supervisor"


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """Hash a PIN for storage. ``salt`` is random unless given (tests)."""
    if not pin.isdigit():
        raise ValueError("a PIN is digits only")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        pin.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time check of ``pin`` against a ``hash_pin`` string."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        pin.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(digest.hex(), digest_hex)
