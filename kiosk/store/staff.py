"""Staff and members in kiosk.db: the StaffDirectory port, lookups and CSV imports.

``SqliteStaffDirectory`` (``kiosk.ports.StaffDirectory``) and ``SqliteMembers`` are used by the
lane thread on its connection; ``import_staff`` and ``import_members`` by the CLI.

Secrets never reach the database in clear: a PIN is stored only as ``kiosk.staff.hash_pin``'s
scrypt string; a phone number only as HMAC-SHA256(key, digits) so a member can be found by
phone but the number cannot be read back. Imports replace the whole table in one transaction
(``ImportRejected`` lists bad rows by line number and changes nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import sqlite3
from datetime import datetime
from typing import Any, Final

import sqlite_utils

from kiosk.errors import StoreError
from kiosk.members import Member, mask_phone
from kiosk.staff import Role, StaffMember, hash_pin
from kiosk.store.db import translate_errors, write_transaction
from kiosk.store.importing import Problems, Source, read_rows, rejected

_STAFF_COLUMNS: Final[str] = "staff_id, name, role, badge, pin_hash, failures, locked_until"
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_PHONE: Final = re.compile(r"\+?[0-9]{5,20}")
MIN_PIN_LENGTH: Final[int] = 4


def _staff_from_row(row: tuple[Any, ...]) -> StaffMember:
    staff_id, name, role, badge, pin_hash, failures, locked_until = row
    role_value: Role = "supervisor" if role == "supervisor" else "attendant"
    return StaffMember(
        staff_id=staff_id,
        name=name,
        role=role_value,
        badge=badge,
        pin_hash=pin_hash,
        failures=int(failures),
        locked_until=None if locked_until is None else datetime.fromisoformat(locked_until),
    )


class SqliteStaffDirectory:
    """``kiosk.ports.StaffDirectory`` over the ``staff`` table."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._conn: sqlite3.Connection = db.conn

    def _one(self, where: str, key: str) -> StaffMember | None:
        with translate_errors():
            row = self._conn.execute(
                f"SELECT {_STAFF_COLUMNS} FROM staff WHERE {where} = ?", (key,)
            ).fetchone()
        return None if row is None else _staff_from_row(row)

    def by_badge(self, badge: str) -> StaffMember | None:
        return self._one("badge", badge)

    def by_id(self, staff_id: str) -> StaffMember | None:
        return self._one("staff_id", staff_id)

    def record_login_failure(self, staff_id: str, locked_until: datetime | None) -> int:
        if locked_until is not None and locked_until.tzinfo is None:
            raise ValueError("locked_until must be timezone-aware")
        until = None if locked_until is None else locked_until.isoformat()
        with write_transaction(self._conn) as conn:
            row = conn.execute(
                "UPDATE staff SET failures = failures + 1, "
                "locked_until = coalesce(?, locked_until) WHERE staff_id = ? RETURNING failures",
                (until, staff_id),
            ).fetchone()
        if row is None:
            raise StoreError(f"no staff member {staff_id}")
        return int(row[0])

    def reset_login_failures(self, staff_id: str) -> None:
        with translate_errors():
            cursor = self._conn.execute(
                "UPDATE staff SET failures = 0, locked_until = NULL WHERE staff_id = ?",
                (staff_id,),
            )
        if cursor.rowcount != 1:
            raise StoreError(f"no staff member {staff_id}")


def import_staff(db: sqlite_utils.Database, source: Source) -> int:
    """Replace all staff with the CSV ``source`` (columns staff_id, name, role, badge, pin).

    ``role`` is attendant or supervisor; ``badge`` and ``pin`` may be empty but not both; a PIN
    is digits only, at least 4, and is stored hashed. Returns the number of staff imported.
    """
    problems = Problems()
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    columns = ("staff_id", "name", "role", "badge", "pin")
    for line, row in read_rows(source, "staff", columns.__contains__, columns, problems):
        bad = []
        if not _ID.fullmatch(row["staff_id"]):
            bad.append(f"staff_id {row['staff_id']!r} must be 1-32 letters, digits, . _ -")
        if not row["name"]:
            bad.append("name is empty")
        if row["role"] not in ("attendant", "supervisor"):
            bad.append(f"role {row['role']!r} must be attendant or supervisor")
        pin = row["pin"]
        if pin and (not pin.isascii() or not pin.isdigit() or len(pin) < MIN_PIN_LENGTH):
            bad.append(f"pin must be at least {MIN_PIN_LENGTH} digits")
        if not pin and not row["badge"]:
            bad.append("needs a badge or a pin to log in")
        for column in ("staff_id", "badge"):
            value = row[column]
            if value and (column, value) in seen:
                bad.append(f"{column} {value!r} is also on line {seen[column, value]}")
            elif value:
                seen[column, value] = line
        for problem in bad:
            problems.add(line, problem)
        if not bad:
            rows.append(
                {
                    "staff_id": row["staff_id"],
                    "name": row["name"],
                    "role": row["role"],
                    "badge": row["badge"] or None,
                    "pin_hash": hash_pin(pin) if pin else None,
                    "failures": 0,
                    "locked_until": None,
                }
            )
    problems.raise_if_any("staff")
    if not rows:
        raise rejected("staff", 1, "the file has a header but no staff")
    with write_transaction(db.conn):
        db.conn.execute("DELETE FROM staff")
        db.table("staff").insert_all(rows)
    return len(rows)


# -- members -----------------------------------------------------------------------------------


def normalise_phone(phone: str) -> str:
    """Digits (and a leading +) only: ``+86 138-0013-8000`` -> ``+8613800138000``."""
    compact = re.sub(r"[\s().-]", "", phone)
    if not _PHONE.fullmatch(compact):
        raise ValueError(f"phone number must be 5-20 digits (optionally +), got {len(phone)} chars")
    return compact


def phone_hash(key: bytes, phone: str) -> str:
    """HMAC-SHA256 of the normalised phone number under ``key`` (hex)."""
    if len(key) < 16:
        raise ValueError("the phone hashing key must be at least 16 bytes")
    return hmac.new(key, normalise_phone(phone).encode("ascii"), hashlib.sha256).hexdigest()


class SqliteMembers:
    """``kiosk.ports.Members``: lookups by scanned code, or by phone number through its keyed
    hash. Only the masked phone (``138****1234``) is kept for display."""

    def __init__(self, db: sqlite_utils.Database, phone_key: bytes) -> None:
        self._conn: sqlite3.Connection = db.conn
        self._key = phone_key

    def _one(self, where: str, value: str) -> Member | None:
        with translate_errors():
            row = self._conn.execute(
                f"SELECT member_id, code, level, name, masked_phone FROM members WHERE {where} = ?",
                (value,),
            ).fetchone()
        return None if row is None else Member(*row)

    def by_code(self, code: str) -> Member | None:
        return self._one("code", code)

    def by_phone(self, phone: str) -> Member | None:
        try:
            digest = phone_hash(self._key, phone)
        except ValueError:
            return None
        return self._one("phone_hash", digest)


def import_members(db: sqlite_utils.Database, source: Source, phone_key: bytes) -> int:
    """Replace all members with the CSV ``source`` (member_id, code, phone, level, name).

    ``phone`` may be empty; it is stored only as ``phone_hash(phone_key, phone)`` and masked
    (``138****1234``); ``level`` empty means ``standard``.
    """
    if len(phone_key) < 16:
        raise ValueError("the phone hashing key must be at least 16 bytes")
    problems = Problems()
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    columns = ("member_id", "code", "phone", "level", "name")
    for line, row in read_rows(source, "members", columns.__contains__, columns, problems):
        bad = []
        for column in ("member_id", "code"):
            if not _ID.fullmatch(row[column]):
                bad.append(f"{column} {row[column]!r} must be 1-32 letters, digits, . _ -")
        digest = None
        if row["phone"]:
            try:
                digest = phone_hash(phone_key, row["phone"])
            except ValueError as exc:
                bad.append(str(exc))
        for column, value in (
            ("member_id", row["member_id"]),
            ("code", row["code"]),
            ("phone", digest),
        ):
            if value and (column, value) in seen:
                bad.append(f"{column} is also on line {seen[column, value]}")
            elif value:
                seen[column, value] = line
        for problem in bad:
            problems.add(line, problem)
        if not bad:
            rows.append(
                {
                    "member_id": row["member_id"],
                    "code": row["code"],
                    "phone_hash": digest,
                    "masked_phone": mask_phone(row["phone"]) if row["phone"] else "",
                    "level": row["level"] or "standard",
                    "name": row["name"],
                }
            )
    problems.raise_if_any("members")
    if not rows:
        raise rejected("members", 1, "the file has a header but no members")
    with write_transaction(db.conn):
        db.conn.execute("DELETE FROM members")
        db.table("members").insert_all(rows)
    return len(rows)
