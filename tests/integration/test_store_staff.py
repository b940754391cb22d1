"""kiosk.store.staff: staff directory, PIN hashing on import, members with hashed phones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from kiosk.errors import StoreError
from kiosk.staff import verify_pin
from kiosk.store.importing import ImportRejected
from kiosk.store.staff import (
    SqliteMembers,
    SqliteStaffDirectory,
    import_members,
    import_staff,
    phone_hash,
)

STAFF = (
    "staff_id,name,role,badge,pin\n"
    "E07,Wang Fang,attendant,ST0007,4321\n"
    "S01,Li Lei,supervisor,,987654\n"
)
KEY = b"k" * 32


def write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def staff(db: sqlite_utils.Database, tmp_path: Path) -> SqliteStaffDirectory:
    assert import_staff(db, write(tmp_path, STAFF)) == 2
    return SqliteStaffDirectory(db)


def test_import_staff_stores_only_a_pin_hash(
    staff: SqliteStaffDirectory, db_path: Path, db: sqlite_utils.Database
) -> None:
    wang = staff.by_badge("ST0007")
    assert wang is not None
    assert (wang.staff_id, wang.name, wang.role) == ("E07", "Wang Fang", "attendant")
    assert wang.pin_hash is not None and wang.pin_hash.startswith("scrypt$")
    assert verify_pin("4321", wang.pin_hash)
    li = staff.by_id("S01")
    assert li is not None and li.role == "supervisor" and li.badge is None
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"987654" not in db_path.read_bytes()


def test_unknown_staff_is_none(staff: SqliteStaffDirectory) -> None:
    assert staff.by_badge("ST9999") is None
    assert staff.by_id("X") is None


def test_login_failures_count_lock_and_reset(staff: SqliteStaffDirectory) -> None:
    until = datetime(2026, 11, 27, 9, 20, tzinfo=UTC)
    assert staff.record_login_failure("E07", None) == 1
    assert staff.record_login_failure("E07", until) == 2
    wang = staff.by_id("E07")
    assert wang is not None and wang.failures == 2 and wang.locked_until == until
    assert wang.is_locked(until - timedelta(seconds=1))
    staff.reset_login_failures("E07")
    wang = staff.by_id("E07")
    assert wang is not None and (wang.failures, wang.locked_until) == (0, None)


def test_login_failure_of_unknown_staff_is_refused(staff: SqliteStaffDirectory) -> None:
    with pytest.raises(StoreError, match="no staff member X"):
        staff.record_login_failure("X", None)
    with pytest.raises(StoreError, match="no staff member X"):
        staff.reset_login_failures("X")


def test_login_failure_needs_an_aware_time(staff: SqliteStaffDirectory) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        staff.record_login_failure("E07", datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("E 1,A,attendant,ST1,1234", "staff_id 'E 1' must be"),
        ("E1,,attendant,ST1,1234", "name is empty"),
        ("E1,A,manager,ST1,1234", "role 'manager' must be attendant or supervisor"),
        ("E1,A,attendant,ST1,12a4", "pin must be at least 4 digits"),
        ("E1,A,attendant,ST1,123", "pin must be at least 4 digits"),
        ("E1,A,attendant,,", "needs a badge or a pin"),
        ("E07,A,attendant,ST1,1234", "staff_id 'E07' is also on line 2"),
        ("E1,A,attendant,ST0007,1234", "badge 'ST0007' is also on line 2"),
    ],
)
def test_import_staff_refuses_bad_rows_and_keeps_the_old_staff(
    staff: SqliteStaffDirectory, tmp_path: Path, db: sqlite_utils.Database, row: str, problem: str
) -> None:
    with pytest.raises(ImportRejected) as caught:
        import_staff(db, write(tmp_path, STAFF + row + "\n", "bad.csv"))
    assert caught.value.line == 4
    assert problem in caught.value.problem
    assert staff.by_id("E07") is not None


def test_import_staff_refuses_an_empty_file(db: sqlite_utils.Database, tmp_path: Path) -> None:
    with pytest.raises(ImportRejected, match="no staff"):
        import_staff(db, write(tmp_path, "staff_id,name,role,badge,pin\n"))


# -- members ----------------------------------------------------------------------------------

MEMBERS = (
    "member_id,code,phone,level,name\nM-1,M000123,+86 138-1234-1234,gold,Zhang\nM-2,M000124,,,\n"
)


def test_import_members_keeps_only_hashed_and_masked_phones(
    db: sqlite_utils.Database, db_path: Path, tmp_path: Path
) -> None:
    assert import_members(db, write(tmp_path, MEMBERS), KEY) == 2
    members = SqliteMembers(db, KEY)
    zhang = members.by_code("M000123")
    assert zhang is not None
    assert (zhang.member_id, zhang.level, zhang.name) == ("M-1", "gold", "Zhang")
    assert zhang.masked_phone == "861****1234"
    assert members.by_phone("+8613812341234") == zhang
    assert members.by_phone("+86 138 1234 1234") == zhang
    other = members.by_code("M000124")
    assert other is not None and other.level == "standard"
    assert members.by_code("nope") is None and members.by_phone("12") is None
    stored = db.execute("SELECT phone_hash FROM members WHERE member_id = 'M-1'").fetchone()[0]
    assert stored == phone_hash(KEY, "+8613812341234")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = db_path.read_bytes()
    assert b"13812341234" not in raw and b"1234-1234" not in raw


def test_members_with_another_key_do_not_match(db: sqlite_utils.Database, tmp_path: Path) -> None:
    import_members(db, write(tmp_path, MEMBERS), KEY)
    assert SqliteMembers(db, b"x" * 32).by_phone("+8613812341234") is None


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("M-3,M000123,,,", "code is also on line 2"),
        ("M-3,M0009,12,,", "phone number must be"),
        ("M-3,M0009,+86 138-1234-1234,,", "phone is also on line 2"),
        ("M 3,M0009,,,", "member_id 'M 3' must be"),
    ],
)
def test_import_members_refuses_bad_rows(
    db: sqlite_utils.Database, tmp_path: Path, row: str, problem: str
) -> None:
    with pytest.raises(ImportRejected) as caught:
        import_members(db, write(tmp_path, MEMBERS + row + "\n"), KEY)
    assert caught.value.line == 4 and problem in caught.value.problem
    assert db.execute("SELECT count(*) FROM members").fetchone()[0] == 0


def test_import_members_needs_a_real_key(db: sqlite_utils.Database, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        import_members(db, write(tmp_path, MEMBERS), b"short")
